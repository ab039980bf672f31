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

// TestPendingBytesBounded fetches 200 KiB events whose uploads hang, on
// distinct orders so nothing orders them: with a 1 MiB budget the fetcher
// stops at 3 unfinished events (400 KiB each with the mapped body) however large the in-flight limit and the
// window, and the rest is fetched once those finish.
func TestPendingBytesBounded(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	pad := strings.Repeat("p", 200<<10)
	var msgs []kafka.Message
	for i := range 20 {
		v, _ := json.Marshal(map[string]any{"order": fmt.Sprintf("o%02d", i), "seq": 0, "kind": "hang", "pad": pad})
		msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "o%02d", i), Value: v})
	}
	produceOneBatchEach(t, brokers, srcTopic, msgs)
	size := int64(len(msgs[0].Key) + len(msgs[0].Value))

	rec := newRecorder(time.Millisecond)
	cons, err := New(Config{
		Brokers: brokers, Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic, DeadLetters: testDeadLetters(t, brokers),
		MaxInFlight: 64, SessionTimeout: 3 * time.Second, RebalanceTimeout: 4 * time.Second,
		ShutdownTimeout: 5 * time.Second, MaxPendingBytes: 1 << 20,
		Logger: zerolog.New(testWriter{t}).Level(zerolog.WarnLevel),
	}, fakeMapper{}, rec.uploader("a"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()

	// Each event counts its record and its mapped body (the same bytes
	// here); the next fetch waits for room before it is sent.
	want := int((1 << 20) / (2 * size))
	kafkatest.WaitFor(t, "the fetcher waiting on the byte budget", func() bool { return cons.budget.waiting() > 0 })
	if _, pending := cons.Progress(); pending != want {
		t.Errorf("%d events fetched and unfinished with a 1 MiB budget and %d bytes each, want %d", pending, 2*size, want)
	}
	if held := cons.budget.inUse(); held > 1<<20 {
		t.Errorf("%d bytes held, over the 1 MiB budget", held)
	}
	cancel() // the hanging uploads are abandoned; their bytes must come back
	stopped = true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if held := cons.budget.inUse(); held != 0 {
		t.Errorf("%d bytes still held after Run returned", held)
	}
}

// TestBudgetUpdateWithoutWaitersAllocatesNothing: handing a message over
// and releasing it, as every event does, makes no wake-up channel while
// no one waits.
func TestBudgetUpdateWithoutWaitersAllocatesNothing(t *testing.T) {
	b := newByteBudget(1 << 20)
	if err := b.reserve(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { b.handOver(10); b.release(10) }); n != 0 {
		t.Errorf("%.0f allocations per hand-over and release, want 0", n)
	}
}
