// Package kafkatest holds the Kafka scaffolding shared by the packages that
// test against franz-go's kfake broker: a cluster per test, reading what a
// topic holds, the group's committed offsets, and a bounded poll for state
// the test waits on. Every helper fails the test instead of returning an
// error; every network call has a deadline.
package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/internal/kafkaread"
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
	parts, err := kafkaread.Partitions(ctx, broker, topic)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int32]int64{}
	for _, p := range parts {
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
// watermarks now, partition by partition in offset order, without
// transaction markers (see internal/kafkaread).
func ReadTopic(tb testing.TB, broker, topic string) []kafka.Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	msgs, err := kafkaread.Topic(ctx, broker, topic)
	if err != nil {
		tb.Fatal(err)
	}
	return msgs
}

// CommitTransactions writes each of txns to topic at broker as one
// committed transaction of string records; each transaction leaves a
// transaction marker after its records.
func CommitTransactions(tb testing.TB, broker, topic string, txns ...[]string) {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.TransactionalID("kafkatest"), kgo.DefaultProduceTopic(topic))
	if err != nil {
		tb.Fatalf("transactional client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	for _, values := range txns {
		if err := cl.BeginTransaction(); err != nil {
			tb.Fatalf("begin transaction: %v", err)
		}
		for _, v := range values {
			if err := cl.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
				tb.Fatalf("produce %q to %s: %v", v, topic, err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			tb.Fatalf("commit transaction: %v", err)
		}
	}
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
