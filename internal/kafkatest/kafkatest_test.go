package kafkatest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestReadTopicReadsEveryPartitionAcrossBatches writes several produce
// batches to three partitions: ReadTopic returns each record once, in
// offset order within its partition, and EndOffsets each partition's end.
func TestReadTopicReadsEveryPartitionAcrossBatches(t *testing.T) {
	c := Cluster(t, kfake.SeedTopics(3, "orders"))
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

	got := ReadTopic(t, broker, "orders")
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
	ends := EndOffsets(t, broker, "orders")
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

// TestCommittedShowsTheGroupsCommits commits offsets of two partitions as
// a simple consumer: Committed returns them, and nothing for another group.
func TestCommittedShowsTheGroupsCommits(t *testing.T) {
	c := Cluster(t, kfake.SeedTopics(2, "orders"))
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(c.ListenAddrs()...), Timeout: 10 * time.Second, Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: "ordersync", GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{"orders": {{Partition: 0, Offset: 12}, {Partition: 1, Offset: 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				t.Fatalf("commit partition %d: %v", p.Partition, p.Error)
			}
		}
	}
	if got := Committed(c, "ordersync", "orders"); len(got) != 2 || got[0] != 12 || got[1] != 3 {
		t.Errorf("committed %v, want map[0:12 1:3]", got)
	}
	if got := Committed(c, "other", "orders"); len(got) != 0 {
		t.Errorf("another group: committed %v, want none", got)
	}
}

// fatalTB records the failure WaitFor reports and ends the goroutine as
// testing.T's Fatalf does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// TestWaitForFailsAfterItsBoundNamingWhat runs on a fake clock: WaitFor
// returns once cond holds, and fails naming what after WaitBound when cond
// never holds.
func TestWaitForFailsAfterItsBoundNamingWhat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		polls := 0
		WaitFor(t, "the third poll", func() bool { polls++; return polls == 3 })
		if polls != 3 {
			t.Errorf("WaitFor returned after %d polls, want 3", polls)
		}

		f := &fatalTB{TB: t}
		start := time.Now()
		var waited time.Duration
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { waited = time.Since(start) }()
			WaitFor(f, "the impossible", func() bool { return false })
		}()
		<-done
		if waited < WaitBound || !strings.Contains(f.msg, "the impossible") {
			t.Errorf("WaitFor gave up after %s with %q; want after %s naming what it waited for", waited, f.msg, WaitBound)
		}
	})
}

// TestReadTopicStepsOverTransactionMarkers commits two transactions to one
// partition: each leaves a control record at an offset that holds no
// message, and ReadTopic still returns every record.
func TestReadTopicStepsOverTransactionMarkers(t *testing.T) {
	c := Cluster(t, kfake.SeedTopics(1, "orders"))
	broker := c.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.TransactionalID("kafkatest"), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for txn := range 2 {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%d-%d", txn, i))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
	if ends := EndOffsets(t, broker, "orders"); ends[0] != 8 {
		t.Fatalf("end offset %d, want 8 (6 records and 2 markers)", ends[0])
	}
	if got := ReadTopic(t, broker, "orders"); len(got) != 6 || string(got[5].Value) != "1-2" {
		t.Errorf("read %d records (last %q), want 6 ending with 1-2", len(got), string(got[len(got)-1].Value))
	}
}
