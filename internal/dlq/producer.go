package dlq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// ProducerConfig configures a Producer.
type ProducerConfig struct {
	// Brokers are the bootstrap addresses.
	Brokers []string
	// Transport carries TLS/SASL settings (and request deadlines); nil
	// means a private plain transport. Close closes its idle connections
	// when it has a CloseIdleConnections method.
	Transport kafka.RoundTripper
	// AllowAutoTopicCreation lets the broker create a message's topic on
	// first write with its defaults. Off by default.
	AllowAutoTopicCreation bool
	// WriteTimeout bounds one produce request; default 10s.
	WriteTimeout time.Duration
	// BatchSize is the most messages one request carries; default 100.
	BatchSize int
	// MaxAttempts is how many times kafka-go sends a request that failed
	// with a retriable error; default 1 (the caller decides about retries).
	MaxAttempts int
}

// Producer writes messages durably, each to the topic it names: Write
// returns nil only once every in-sync replica has acknowledged every
// message. A message too large to share a request — past kafka-go's 1 MiB
// batch limit, or in a batch the broker refused as too large — is written
// again on its own without the client-side limit, so that the destination
// topic's limit is the one that counts. Producer is safe for concurrent
// use; concurrent writes share produce requests.
type Producer struct {
	w         *kafka.Writer // batches writes, up to kafka-go's default 1 MiB
	alone     *kafka.Writer // one message a request, for those too large to batch
	transport kafka.RoundTripper
}

// NewProducer returns a Producer for cfg. It does not connect until the
// first Write.
func NewProducer(cfg ProducerConfig) (*Producer, error) {
	if len(cfg.Brokers) == 0 {
		return nil, ErrNoBrokers
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
			Addr: kafka.TCP(cfg.Brokers...),
			// Same partition for the same key as the Java client's default
			// partitioner, so a topic shared with Java tools stays consistent.
			Balancer:               &kafka.Murmur2Balancer{},
			MaxAttempts:            max(cfg.MaxAttempts, 1),
			BatchSize:              cfg.BatchSize,
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
	return &Producer{w: newWriter(), alone: alone, transport: transport}, nil
}

// Write produces msgs, each to its Topic, and waits for acknowledgement by
// all in-sync replicas. It returns nil when every message was written; a
// kafka.WriteErrors with one entry per message (nil for those written) when
// some were not; any other error applies to every message. A failed message
// may or may not have been written, unless its error is a broker's error
// code or TooLarge. Write does not retry: the caller decides.
func (p *Producer) Write(ctx context.Context, msgs ...kafka.Message) error {
	err := p.w.WriteMessages(ctx, msgs...)
	errs := make(kafka.WriteErrors, len(msgs))
	var perMsg kafka.WriteErrors
	switch {
	case err == nil:
		return nil
	case errors.As(err, &perMsg) && len(perMsg) == len(msgs):
		copy(errs, perMsg)
	case TooLarge(err): // refused before sending: nothing was written
		for i := range errs {
			errs[i] = err
		}
	default:
		return err
	}
	failed := false
	for i, e := range errs {
		if TooLarge(e) {
			errs[i] = unwrapWriteErrors(p.alone.WriteMessages(ctx, msgs[i]))
		}
		failed = failed || errs[i] != nil
	}
	if !failed {
		return nil
	}
	return errs
}

// Close flushes pending writes and closes the transport's idle connections.
func (p *Producer) Close() error {
	err := errors.Join(p.w.Close(), p.alone.Close())
	if t, ok := p.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("close producer: %w", err)
	}
	return nil
}

// unwrapWriteErrors returns the first error of a kafka.WriteErrors so that
// errors.Is sees the broker's error code.
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
