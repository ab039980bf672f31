package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Observer receives the ledger's measurements (implemented by the metrics
// package). Methods are called concurrently and must not block.
type Observer interface {
	// LedgerWriteFailed counts a failed ledger write (the caller retries).
	LedgerWriteFailed()
	// LedgerRestored observes one partition's restore: records read and time taken.
	LedgerRestored(records int, d time.Duration)
}

// Config configures a Ledger.
type Config struct {
	Brokers []string
	Topic   string
	// Retention is how long an order's state is held after its delivery
	// (ORDERSYNC_LEDGER_RETENTION); 0 holds it for ever.
	Retention time.Duration
	// Dialer reads partitions on restore; nil = kafka.DefaultDialer.
	Dialer *kafka.Dialer
	// Transport carries TLS/SASL for writes; nil = a private one.
	Transport *kafka.Transport
	// WriteTimeout bounds one produce request; default 10s.
	WriteTimeout time.Duration
	// ReadTimeout bounds each read of a restore; default 10s.
	ReadTimeout time.Duration
	Observer    Observer
}

// Ledger writes delivered states to the ledger topic, restores partitions'
// states from it, and guards uploads with them. Safe for concurrent use.
type Ledger struct {
	cfg          Config
	state        *State
	client       *kafka.Client // produces the records (produce.go)
	obs          Observer
	ownTransport bool

	wmu     sync.Mutex
	writers map[int]*partitionWriter // by source partition
	closed  bool
	closing chan struct{} // closed by Close: the writers send what is queued and end
	wg      sync.WaitGroup

	mu         sync.Mutex
	failing    string // why the last write failed, "" after a success
	lastForget time.Time
}

// forgetEvery is how often Write drops states older than the retention.
const forgetEvery = 10 * time.Minute

// New returns a Ledger for cfg. It does not connect until used.
func New(cfg Config) (*Ledger, error) {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" {
		return nil, errors.New("ledger: brokers and topic are required")
	}
	ownTransport := cfg.Transport == nil
	if ownTransport {
		cfg.Transport = &kafka.Transport{}
	}
	if cfg.Dialer == nil {
		cfg.Dialer = kafka.DefaultDialer
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	obs := cfg.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	return &Ledger{
		cfg:          cfg,
		state:        NewState(cfg.Retention),
		obs:          obs,
		ownTransport: ownTransport,
		client:       &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: cfg.Transport, Timeout: cfg.WriteTimeout},
		writers:      map[int]*partitionWriter{},
		closing:      make(chan struct{}),
	}, nil
}

// Topic returns the ledger topic.
func (l *Ledger) Topic() string { return l.cfg.Topic }

// Check returns the reason the guard skips ev, or "" when ev is to be sent.
func (l *Ledger) Check(ev Event) string { return l.state.Check(ev) }

// Write records r, the delivery of an event read from source partition
// partition, and returns nil once every in-sync replica has acknowledged it;
// the guard then holds it. Write does not retry: the caller does, and must
// not commit the event's offset before a Write succeeded. The concurrent
// writes of a source partition share produce requests (produce.go).
func (l *Ledger) Write(ctx context.Context, partition int, r Record) error {
	value, err := r.Marshal()
	if err != nil {
		return err
	}
	key := make([]byte, 0, len(r.SubMchID)+1+len(r.OutOrderNo)) // Key's bytes, made once
	key = append(append(append(key, r.SubMchID...), '/'), r.OutOrderNo...)
	err = l.send(ctx, partition, key, value)
	now := time.Now()
	l.mu.Lock()
	if err != nil {
		l.failing = "ledger writes failing, commits stalled: " + err.Error()
	} else {
		l.failing = ""
	}
	forget := now.Sub(l.lastForget) > forgetEvery
	if forget {
		l.lastForget = now
	}
	l.mu.Unlock()
	if err != nil {
		l.obs.LedgerWriteFailed()
		return fmt.Errorf("write ledger record %s to %s: %w", Key(r.SubMchID, r.OutOrderNo), l.cfg.Topic, err)
	}
	l.state.Put(r, now)
	if forget {
		l.state.Forget(now)
	}
	return nil
}

// Healthy reports false, with the reason, while ledger writes or restores
// fail: the commits of the partitions waiting for them stall, a partition
// not restored is not consumed.
func (l *Ledger) Healthy() (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failing != "" {
		return false, l.failing
	}
	return true, ""
}

// setFailing records why the ledger cannot be used, until the next
// successful write or restore.
func (l *Ledger) setFailing(format string, args ...any) {
	l.mu.Lock()
	l.failing = fmt.Sprintf(format, args...)
	l.mu.Unlock()
}

// Close sends the writes queued, waits for them, and closes the transport
// when New made it; later writes fail.
func (l *Ledger) Close() error {
	l.wmu.Lock()
	if !l.closed {
		l.closed = true
		close(l.closing)
	}
	l.wmu.Unlock()
	l.wg.Wait()
	if l.ownTransport {
		l.cfg.Transport.CloseIdleConnections()
	}
	return nil
}

type nopObserver struct{}

func (nopObserver) LedgerWriteFailed()                {}
func (nopObserver) LedgerRestored(int, time.Duration) {}
