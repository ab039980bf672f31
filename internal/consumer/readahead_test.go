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
)

// TestReaderQueueWithinBudget fetches 200 KiB events on four partitions
// whose uploads hang, with a 1 MiB budget: once every fetcher waits on the
// budget, the bytes kafka-go's readers hold (partitionReader.readAhead) plus
// the budget's must stay within it.
func TestReaderQueueWithinBudget(t *testing.T) {
	t.Skip("issue 16: kafka-go's reader queue is still outside the byte budget (see docs/architecture.md)")
	const parts, limit = 4, 1 << 20
	c := newCluster(t, parts)
	brokers := c.ListenAddrs()
	pad := strings.Repeat("p", 200<<10)
	var msgs []kafka.Message
	for i := range 48 {
		v, _ := json.Marshal(map[string]any{"order": fmt.Sprintf("o%02d", i), "seq": 0, "kind": "hang", "pad": pad})
		msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "o%02d", i), Value: v})
	}
	produce(t, brokers, srcTopic, msgs)

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

	readAhead := func() (n int64) {
		cons.mu.Lock()
		ps := cons.parts
		cons.mu.Unlock()
		for _, p := range ps {
			if r := p.reader.Load(); r != nil {
				n += r.readAhead()
			}
		}
		return n
	}
	waitFor(t, 20*time.Second, "every fetcher waiting on the byte budget", func() bool { return cons.budget.waiting() == parts })
	// The readers keep reading while the fetchers wait; give them a bounded
	// time to fill their queues, failing as soon as the total is over.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ahead, held := readAhead(), cons.budget.inUse()
		if ahead+held > limit {
			t.Fatalf("%d bytes in the readers' queues + %d in the budget = %d, over the %d-byte budget", ahead, held, ahead+held, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
