package dlq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/segmentio/kafka-go"
)

// Static configuration errors of NewWriter.
var (
	// ErrNoBrokers means WriterConfig.Brokers is empty.
	ErrNoBrokers = errors.New("dead-letter writer: no brokers")
	// ErrNoTopic means WriterConfig.Topic is empty.
	ErrNoTopic = errors.New("dead-letter writer: no topic")
	// ErrTooLarge means the dead-letter topic refused a record, written
	// alone, as larger than it accepts: retrying cannot help, writing
	// Record.WithoutOriginal can.
	ErrTooLarge = errors.New("record too large for the dead-letter topic")
)

// MaxAloneBytes is the kafka.Writer BatchBytes for a record written on its
// own: it lifts kafka-go's client-side size limit (1 MiB by default) so that
// the destination topic's limit is the one that counts.
const MaxAloneBytes = math.MaxInt32

// WriterConfig configures a Writer.
type WriterConfig struct {
	// Brokers are the bootstrap addresses.
	Brokers []string
	// Topic is the dead-letter topic. It should exist: production
	// deployments create it explicitly with the partitions they need.
	Topic string
	// Transport carries TLS/SASL settings; nil means a private plain
	// transport owned by the Writer.
	Transport *kafka.Transport
	// AllowAutoTopicCreation lets the broker create Topic on first write
	// with its defaults. Off by default.
	AllowAutoTopicCreation bool
	// WriteTimeout bounds one produce request; default 10s.
	WriteTimeout time.Duration
}

// Writer writes dead-letter records durably: each Write returns nil only once
// every in-sync replica has acknowledged the record. Write does not retry:
// the caller decides how long to keep trying (and must not commit the source
// offset until a Write succeeded). Writer is safe for concurrent use;
// concurrent writes share produce requests.
type Writer struct {
	w         *kafka.Writer // batches concurrent writes, up to kafka-go's default 1 MiB
	alone     *kafka.Writer // one record a request, for those too large to batch
	transport *kafka.Transport
}

// NewWriter returns a Writer for cfg. It does not connect until the first Write.
func NewWriter(cfg WriterConfig) (*Writer, error) {
	if len(cfg.Brokers) == 0 {
		return nil, ErrNoBrokers
	}
	if cfg.Topic == "" {
		return nil, ErrNoTopic
	}
	transport := cfg.Transport
	if transport == nil {
		transport = &kafka.Transport{}
	}
	timeout := cfg.WriteTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	newWriter := func() *kafka.Writer {
		return &kafka.Writer{
			Addr:  kafka.TCP(cfg.Brokers...),
			Topic: cfg.Topic,
			// Same partition for the same key as the Java client's default
			// partitioner, so a topic shared with Java tools stays consistent.
			Balancer:               &kafka.Murmur2Balancer{},
			MaxAttempts:            1,
			BatchTimeout:           2 * time.Millisecond,
			ReadTimeout:            timeout,
			WriteTimeout:           timeout,
			RequiredAcks:           kafka.RequireAll,
			Transport:              transport,
			AllowAutoTopicCreation: cfg.AllowAutoTopicCreation,
		}
	}
	alone := newWriter()
	alone.BatchSize, alone.BatchBytes = 1, MaxAloneBytes
	return &Writer{w: newWriter(), alone: alone, transport: transport}, nil
}

// Topic returns the dead-letter topic.
func (w *Writer) Topic() string { return w.w.Topic }

// Write produces r's dead-letter message and waits for acknowledgement by
// all in-sync replicas. A non-nil error means the record may or may not have
// been written; the caller retries (a retry may duplicate the record).
//
// A record too large to share a request (kafka-go's 1 MiB batch limit, or a
// broker that refused the batch it was in) is written again on its own; if
// the broker refuses it alone too, the error wraps ErrTooLarge.
func (w *Writer) Write(ctx context.Context, r Record) error {
	msg := r.Message()
	err := unwrapWriteErrors(w.w.WriteMessages(ctx, msg))
	if TooLarge(err) {
		err = unwrapWriteErrors(w.alone.WriteMessages(ctx, msg))
		if TooLarge(err) {
			err = fmt.Errorf("%w (key, value and headers %d bytes): %w", ErrTooLarge, messageBytes(msg), err)
		}
	}
	if err != nil {
		return fmt.Errorf("write dead letter %s/%d/%d to %s: %w", r.Topic, r.Partition, r.Offset, w.w.Topic, err)
	}
	return nil
}

// TooLarge reports whether err is a refusal for size, by kafka-go before
// sending or by the broker: retrying the same request cannot succeed.
func TooLarge(err error) bool {
	return errors.Is(err, kafka.MessageSizeTooLarge) || errors.Is(err, kafka.RecordListTooLarge)
}

func messageBytes(m kafka.Message) int {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// Close flushes pending writes and closes the Writer's idle connections.
func (w *Writer) Close() error {
	err := errors.Join(w.w.Close(), w.alone.Close())
	w.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("close dead-letter writer: %w", err)
	}
	return nil
}

// unwrapWriteErrors returns the first error of a one-message kafka.WriteErrors
// so that errors.Is sees the broker's error code.
func unwrapWriteErrors(err error) error {
	var werr kafka.WriteErrors
	if errors.As(err, &werr) {
		for _, e := range werr {
			if e != nil {
				return e
			}
		}
	}
	return err
}
