// Package kafkatest holds the Kafka scaffolding shared by the packages that
// test against franz-go's kfake broker: a cluster per test, reading what a
// topic holds, the group's committed offsets, and a bounded poll for state
// the test waits on. Every helper fails the test instead of returning an
// error; every network call has a deadline.
package kafkatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// WaitBound is how long WaitFor polls before it fails the test: generous,
// since only a failing test waits that long, and a busy machine is slow.
const WaitBound = time.Minute

// ioTimeout bounds each helper's network calls.
const ioTimeout = 30 * time.Second

// Cluster starts a one-broker kfake cluster with opts, closed when the test
// ends.
func Cluster(tb testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	tb.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		tb.Fatalf("kfake: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// EndOffsets returns the high watermark of every partition of topic at
// broker (host:port).
func EndOffsets(tb testing.TB, broker, topic string) map[int32]int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	out := map[int32]int64{}
	for _, p := range partitions(ctx, tb, broker, topic) {
		conn, err := kafka.DialLeader(ctx, "tcp", broker, topic, p)
		if err != nil {
			tb.Fatalf("end offsets of %s/%d: %v", topic, p, err)
		}
		_ = conn.SetDeadline(time.Now().Add(ioTimeout))
		_, last, err := conn.ReadOffsets()
		_ = conn.Close()
		if err != nil {
			tb.Fatalf("end offsets of %s/%d: %v", topic, p, err)
		}
		out[int32(p)] = last
	}
	return out
}

// ReadTopic returns every record of topic at broker below its high
// watermarks now, partition by partition in offset order. Transaction
// markers are not records: kafka-go hands them over as messages (kafka-go
// #1332) and ReadTopic drops them.
func ReadTopic(tb testing.TB, broker, topic string) []kafka.Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	var out []kafka.Message
	for _, p := range partitions(ctx, tb, broker, topic) {
		msgs, err := readPartition(ctx, broker, topic, p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, msgs...)
	}
	return out
}

func partitions(ctx context.Context, tb testing.TB, broker, topic string) []int {
	tb.Helper()
	conn, err := kafka.DialContext(ctx, "tcp", broker)
	if err != nil {
		tb.Fatalf("partitions of %s: %v", topic, err)
	}
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	parts, err := conn.ReadPartitions(topic)
	_ = conn.Close()
	if err != nil {
		tb.Fatalf("partitions of %s: %v", topic, err)
	}
	ids := make([]int, len(parts))
	for i, p := range parts {
		ids[i] = p.ID
	}
	return ids
}

func readPartition(ctx context.Context, broker, topic string, partition int) ([]kafka.Message, error) {
	conn, err := kafka.DialLeader(ctx, "tcp", broker, topic, partition)
	if err != nil {
		return nil, fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
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
			if !txnMarker(m) {
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

// txnMarker reports whether m is a Kafka control record: its key is the
// control type (version 0, type 0 abort or 1 commit, two big-endian int16)
// and its value the end-transaction marker (int16 version 0, int32
// coordinator epoch).
func txnMarker(m kafka.Message) bool {
	k, v := m.Key, m.Value
	return len(k) == 4 && k[0] == 0 && k[1] == 0 && k[2] == 0 && k[3] <= 1 &&
		len(v) == 6 && v[0] == 0 && v[1] == 0 && len(m.Headers) == 0
}

// Committed returns the offsets group has committed for topic on c, by
// partition; a group that has committed nothing yields an empty map.
func Committed(c *kfake.Cluster, group, topic string) map[int32]int64 {
	out := map[int32]int64{}
	if gi := c.GroupInfo(group); gi != nil {
		for p, cm := range gi.Commits[topic] {
			out[p] = cm.Offset
		}
	}
	return out
}

// WaitFor polls cond until it holds and fails the test naming what when it
// still does not after WaitBound. cond is state the test controls or
// observes; WaitFor asserts nothing about how long it takes.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(WaitBound)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("still waiting for %s after %s", what, WaitBound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
