package consumer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// bigEvents returns n events of about 200 KiB each, of kind, one per order.
func bigEvents(n int, kind string) []kafka.Message {
	pad := strings.Repeat("p", 200<<10)
	var msgs []kafka.Message
	for i := range n {
		v, _ := json.Marshal(map[string]any{"order": fmt.Sprintf("o%02d", i), "seq": 0, "kind": kind, "pad": pad})
		msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "o%02d", i), Value: v})
	}
	return msgs
}

// produceOneBatchEach writes msgs to topic, each in its own record batch,
// so that no fetch answer is larger than the reservation it was asked with.
func produceOneBatchEach(t *testing.T, brokers []string, topic string, msgs []kafka.Message) {
	t.Helper()
	produceBatched(t, brokers, topic, msgs, 1)
}

// TestReaderQueueWithinBudget fetches 200 KiB events on four partitions
// whose uploads hang, with a 1 MiB budget: once every fetcher waits on the
// budget, the bytes the partition readers hold (partitionReader.readAhead)
// plus the bytes of the events handed over must stay within it.
func TestReaderQueueWithinBudget(t *testing.T) {
	const parts, limit = 4, 1 << 20
	c := newCluster(t, parts)
	brokers := c.ListenAddrs()
	produceOneBatchEach(t, brokers, srcTopic, bigEvents(48, "hang"))

	rec := newRecorder(time.Millisecond)
	cons, err := New(Config{
		Brokers: brokers, Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic, DeadLetters: testDeadLetters(t, brokers),
		MaxInFlight: 64, SessionTimeout: 3 * time.Second, RebalanceTimeout: 4 * time.Second,
		ShutdownTimeout: 5 * time.Second, MaxPendingBytes: limit,
		Logger: zerolog.New(testWriter{t}).Level(zerolog.WarnLevel),
	}, fakeMapper{}, rec.uploader("a"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	held := func() (ahead, pending int64) {
		cons.mu.Lock()
		ps := cons.parts
		cons.mu.Unlock()
		for _, p := range ps {
			if r := p.reader.Load(); r != nil {
				ahead += r.readAhead()
			}
			pending += p.held.Load()
		}
		return ahead, pending
	}
	kafkatest.WaitFor(t, "every fetcher waiting on the byte budget", func() bool { return cons.budget.waiting() == parts })
	// Check for a while that nothing more is read while the fetchers wait,
	// failing as soon as the total is over.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		ahead, pending := held()
		if ahead+pending > limit {
			t.Fatalf("%d bytes in the readers + %d in the handed-over events = %d, over the %d-byte budget", ahead, pending, ahead+pending, limit)
		}
		if inUse := cons.budget.inUse(); inUse < ahead+pending {
			t.Fatalf("the budget counts %d bytes, less than the %d the readers and events hold", inUse, ahead+pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReaderOversizedBatch fetches, with a 256 KiB budget, a record batch of
// five 200 KiB events, far over the fetch's reservation: the reader keeps it
// whole, counted in full, and hands every event over.
func TestReaderOversizedBatch(t *testing.T) {
	const limit = 256 << 10
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	msgs := bigEvents(5, "ok")
	produce(t, brokers, srcTopic, msgs) // one batch: the writer's batch limit is 1 MiB
	var total int64
	for _, m := range msgs {
		total += messageBytes(m)
	}

	b := newByteBudget(limit)
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
	pr := &partitionReader{client: client, budget: b, topic: srcTopic, partition: 0, reserve: fetchReserve(limit),
		offset: kafka.FirstOffset, offsets: func(ctx context.Context) (int64, int64, error) {
			return 0, int64(len(msgs)), nil
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	first, err := pr.fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.inUse(); got != total {
		t.Fatalf("budget holds %d bytes after the first fetch, want the whole batch's %d", got, total)
	}
	if ahead := b.readAhead(); ahead != total-first.bytes || pr.readAhead() != ahead {
		t.Fatalf("read-ahead %d in the budget, %d in the reader, want %d", ahead, pr.readAhead(), total-first.bytes)
	}
	b.release(first.bytes)
	for i := 1; i < len(msgs); i++ {
		m, err := pr.fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Offset != int64(i) || string(m.Key) != string(msgs[i].Key) {
			t.Fatalf("message %d: offset %d key %q", i, m.Offset, m.Key)
		}
		b.release(m.bytes)
	}
	pr.close()
	if got := b.inUse(); got != 0 {
		t.Fatalf("%d bytes still held after every message was released", got)
	}
}

// TestBudgetReservationsCannotDeadlock checks the rules that keep waits
// finite: a reservation waits while the read-ahead half is spent and is let
// through once nothing is held; an event waits only while other events hold
// bytes.
func TestBudgetReservationsCannotDeadlock(t *testing.T) {
	ctx := context.Background()
	b := newByteBudget(1000)
	if err := b.reserve(ctx, 5000); err != nil { // nothing held: let through
		t.Fatal(err)
	}
	b.settle(5000, 400)
	if got := b.readAhead(); got != 400 {
		t.Fatalf("read-ahead %d after settling to 400", got)
	}

	// The read-ahead half (500) is spent: a second reservation waits until
	// the reader hands its message over.
	reserved := make(chan error, 1)
	go func() { reserved <- b.reserve(ctx, 200) }()
	kafkatest.WaitFor(t, "the reservation waiting", func() bool { return b.waiting() == 1 })
	b.handOver(400) // pending 400, ahead 0
	if err := <-reserved; err != nil {
		t.Fatal(err)
	}

	// The only event grows past the budget (its body): let through.
	if err := b.grow(ctx, 400, 500); err != nil {
		t.Fatal(err)
	}
	if got := b.inUse(); got != 1100 {
		t.Fatalf("%d bytes held, want 1100", got)
	}
	// Another event waits until the first one's bytes come back.
	acquired := make(chan error, 1)
	go func() { acquired <- b.grow(ctx, 0, 300) }()
	kafkatest.WaitFor(t, "the event waiting", func() bool { return b.waiting() == 1 })
	b.release(900)
	if err := <-acquired; err != nil {
		t.Fatal(err)
	}
	b.release(300)
	b.releaseAhead(200)
	if got := b.inUse(); got != 0 {
		t.Fatalf("%d bytes held after everything was given back", got)
	}
}
