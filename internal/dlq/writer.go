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
	p     *Producer
	topic string
}

// NewWriter returns a Writer for cfg. It does not connect until the first Write.
func NewWriter(cfg WriterConfig) (*Writer, error) {
	if len(cfg.Brokers) == 0 {
		return nil, ErrNoBrokers
	}
	if cfg.Topic == "" {
		return nil, ErrNoTopic
	}
	var transport kafka.RoundTripper
	if cfg.Transport != nil {
		transport = cfg.Transport
	}
	p, err := NewProducer(ProducerConfig{Brokers: cfg.Brokers, Transport: transport,
		AllowAutoTopicCreation: cfg.AllowAutoTopicCreation, WriteTimeout: cfg.WriteTimeout})
	if err != nil {
		return nil, err
	}
	return &Writer{p: p, topic: cfg.Topic}, nil
}

// Topic returns the dead-letter topic.
func (w *Writer) Topic() string { return w.topic }

// Write produces r's dead-letter message and waits for acknowledgement by
// all in-sync replicas. A non-nil error means the record may or may not have
// been written; the caller retries (a retry may duplicate the record).
// A record the topic refuses as too large even on its own (see Producer)
// fails with an error wrapping ErrTooLarge.
func (w *Writer) Write(ctx context.Context, r Record) error {
	msg := r.Message()
	msg.Topic = w.topic
	err := unwrapWriteErrors(w.p.Write(ctx, msg))
	if TooLarge(err) {
		err = fmt.Errorf("%w (key, value and headers %d bytes): %w", ErrTooLarge, messageBytes(msg), err)
	}
	if err != nil {
		return fmt.Errorf("write dead letter %s/%d/%d to %s: %w", r.Topic, r.Partition, r.Offset, w.topic, err)
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

// Close flushes pending writes and closes the transport's idle connections.
func (w *Writer) Close() error {
	if err := w.p.Close(); err != nil {
		return fmt.Errorf("close dead-letter writer: %w", err)
	}
	return nil
}
