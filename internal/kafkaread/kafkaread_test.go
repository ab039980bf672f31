package kafkaread_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/ordersync/ordersync/internal/kafkaread"
	"github.com/ordersync/ordersync/internal/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// topic reads topic with kafkaread.Topic, failing the test on an error.
func topic(t *testing.T, broker, name string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, err := kafkaread.Topic(ctx, broker, name)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// TestTopicReadsEveryPartitionAcrossBatches writes several produce
// batches to three partitions: Topic returns each record once, in
// offset order within its partition, and EndOffsets each partition's end.
func TestTopicReadsEveryPartitionAcrossBatches(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(3, "orders"))
	broker := c.ListenAddrs()[0]
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(broker), Topic: "orders", Balancer: &kafka.Hash{}, Transport: tr,
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const batches, perBatch = 4, 25
	for b := range batches {
		var msgs []kafka.Message
		for i := range perBatch {
			n := b*perBatch + i
			msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "order-%d", n%7), Value: fmt.Appendf(nil, "%d", n)})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}

	got := topic(t, broker, "orders")
	if len(got) != batches*perBatch {
		t.Fatalf("read %d records, want %d", len(got), batches*perBatch)
	}
	seen := map[string]bool{}
	last := map[int]int64{}
	for _, m := range got {
		if seen[string(m.Value)] {
			t.Errorf("record %s read twice", m.Value)
		}
		seen[string(m.Value)] = true
		if prev, ok := last[m.Partition]; ok && m.Offset <= prev {
			t.Errorf("partition %d: offset %d after %d", m.Partition, m.Offset, prev)
		}
		last[m.Partition] = m.Offset
	}
	ends := kafkatest.EndOffsets(t, broker, "orders")
	var total int64
	for p, end := range ends {
		total += end
		if want := last[int(p)] + 1; end != want {
			t.Errorf("partition %d ends at %d, want %d", p, end, want)
		}
	}
	if len(ends) != 3 || total != batches*perBatch {
		t.Errorf("end offsets %v: want 3 partitions summing to %d", ends, batches*perBatch)
	}
}

// TestTopicStepsOverTransactionMarkers commits two transactions to one
// partition: each leaves a control record at an offset that holds no
// message, and Topic returns every record and no marker.
func TestTopicStepsOverTransactionMarkers(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, "orders"))
	broker := c.ListenAddrs()[0]
	kafkatest.CommitTransactions(t, broker, "orders", []string{"0-0", "0-1", "0-2"}, []string{"1-0", "1-1", "1-2"})
	if ends := kafkatest.EndOffsets(t, broker, "orders"); ends[0] != 8 {
		t.Fatalf("end offset %d, want 8 (6 records and 2 markers)", ends[0])
	}
	var values []string
	for _, m := range topic(t, broker, "orders") {
		values = append(values, string(m.Value))
	}
	if want := []string{"0-0", "0-1", "0-2", "1-0", "1-1", "1-2"}; !slices.Equal(values, want) {
		t.Errorf("Topic = %q, want %q", values, want)
	}
}

// TestTopicMissingIsAnError reads a topic the broker does not have, with a
// context that has no deadline: Topic returns an error naming the topic.
func TestTopicMissingIsAnError(t *testing.T) {
	c := kafkatest.Cluster(t)
	_, err := kafkaread.Topic(context.Background(), c.ListenAddrs()[0], "absent")
	if err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("Topic(absent) = %v, want an error naming the topic", err)
	}
}
