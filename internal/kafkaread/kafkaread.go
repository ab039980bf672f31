// Package kafkaread reads what a Kafka topic holds now, for the tools and
// tests that inspect a topic rather than consume it: every record below each
// partition's high watermark, partition by partition in offset order.
// Transaction markers are not records: kafka-go hands them over as messages
// (kafka-go #1332) and kafkaread drops them.
package kafkaread

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// DefaultTimeout bounds each connection when ctx has no deadline.
const DefaultTimeout = 30 * time.Second

// Topic returns every record of topic at broker (host:port) below its high
// watermarks now. Each connection's deadline is ctx's, or DefaultTimeout
// from when it opens.
func Topic(ctx context.Context, broker, topic string) ([]kafka.Message, error) {
	parts, err := Partitions(ctx, broker, topic)
	if err != nil {
		return nil, err
	}
	var out []kafka.Message
	for _, p := range parts {
		msgs, err := partition(ctx, broker, topic, p)
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
	}
	return out, nil
}

// Partitions returns the partition IDs of topic at broker.
func Partitions(ctx context.Context, broker, topic string) ([]int, error) {
	conn, err := kafka.DialContext(ctx, "tcp", broker)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	_ = conn.SetDeadline(deadline(ctx))
	parts, err := conn.ReadPartitions(topic)
	_ = conn.Close()
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	ids := make([]int, len(parts))
	for i, p := range parts {
		ids[i] = p.ID
	}
	return ids, nil
}

func partition(ctx context.Context, broker, topic string, partition int) ([]kafka.Message, error) {
	conn, err := kafka.DialLeader(ctx, "tcp", broker, topic, partition)
	if err != nil {
		return nil, fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline(ctx))
	first, last, err := conn.ReadOffsets()
	if err != nil {
		return nil, fmt.Errorf("read %s/%d offsets: %w", topic, partition, err)
	}
	var out []kafka.Message
	for next := first; next < last; {
		before := next
		if _, err := conn.Seek(next, kafka.SeekAbsolute); err != nil {
			return nil, fmt.Errorf("seek %s/%d to %d: %w", topic, partition, next, err)
		}
		batch := conn.ReadBatch(1, 16<<20)
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			if !TxnMarker(m) {
				out = append(out, m)
			}
			next = m.Offset + 1
		}
		if err := batch.Close(); err != nil {
			return nil, fmt.Errorf("read %s/%d at %d: %w", topic, partition, before, err)
		}
		if next == before {
			return nil, fmt.Errorf("read %s/%d: no record at offset %d below the high watermark %d", topic, partition, next, last)
		}
	}
	return out, nil
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(DefaultTimeout)
}

// TxnMarker reports whether m, as kafka-go hands it over, is a transaction
// marker (a Kafka control record) rather than a record: its key is the
// control type (version 0, type 0 abort or 1 commit, two big-endian int16)
// and its value the end-transaction marker (int16 version 0, int32
// coordinator epoch). No order event looks like that: a JSON value never
// starts with a zero byte.
func TxnMarker(m kafka.Message) bool {
	k, v := m.Key, m.Value
	return len(k) == 4 && k[0] == 0 && k[1] == 0 && k[2] == 0 && k[3] <= 1 &&
		len(v) == 6 && v[0] == 0 && v[1] == 0 && len(m.Headers) == 0
}
