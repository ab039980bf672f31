package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/kafkatest"
)

func mixedKinds(o, s int) string {
	switch {
	case o == 1 && s == 2:
		return "invalid"
	case o == 2 && s == 1:
		return "reject"
	case o == 3 && s == 3:
		return "exhaust"
	case o == 4 && s == 0:
		return "skip"
	}
	return "ok"
}

// checkDeadLetters verifies the dead-letter topic holds exactly the bad
// events of p, once each, with the dead-letter headers.
func checkDeadLetters(t *testing.T, brokers []string, p plan, notJSON int) {
	t.Helper()
	recs := kafkatest.ReadTopic(t, brokers[0], dlqTopic)
	seen := map[string]int{}
	for _, m := range recs {
		class, _ := headerValue(m, dlq.HeaderErrorClass)
		var e testEvent
		if err := json.Unmarshal(m.Value, &e); err != nil {
			if class != dlq.ClassInvalidEvent {
				t.Errorf("non-JSON dead letter class %q", class)
			}
			if f, ok := headerValue(m, dlq.HeaderErrorField); ok {
				t.Errorf("non-JSON dead letter has field %q", f)
			}
			seen["notjson"]++
			continue
		}
		id := fmt.Sprintf("%s/%d", e.Order, e.Seq)
		seen[id]++
		if want := p.bad[id]; class != want {
			t.Errorf("%s: class %q, want %q", id, class, want)
		}
		if string(m.Key) != e.Order {
			t.Errorf("%s: key %q", id, m.Key)
		}
		if tr, _ := headerValue(m, "trace"); tr != e.Order {
			t.Errorf("%s: original header trace = %q", id, tr)
		}
		want := map[string]string{dlq.HeaderOriginalTopic: srcTopic}
		switch class {
		case dlq.ClassInvalidEvent:
			want[dlq.HeaderErrorField] = "/order/dishes/0/unit"
			want[dlq.HeaderAttempts] = "0"
		case dlq.ClassRejected:
			want[dlq.HeaderErrorField] = "/out_order_no"
			want[dlq.HeaderErrorCode] = "PARAM_ERROR"
			want[dlq.HeaderErrorHTTPStatus] = "400"
			want[dlq.HeaderRequestID] = "req-" + e.Order
			want[dlq.HeaderAttempts] = "1"
		case dlq.ClassRetriesExhausted:
			want[dlq.HeaderErrorHTTPStatus] = "503"
			want[dlq.HeaderAttempts] = "4"
		}
		for k, v := range want {
			if got, _ := headerValue(m, k); got != v {
				t.Errorf("%s: header %s = %q, want %q", id, k, got, v)
			}
		}
		for _, k := range []string{dlq.HeaderErrorMessage, dlq.HeaderOriginalPartition, dlq.HeaderOriginalOffset, dlq.HeaderOriginalTimestamp, dlq.HeaderFailedAt} {
			if v, ok := headerValue(m, k); !ok || v == "" || strings.ContainsAny(v, "\n\r") {
				t.Errorf("%s: header %s = %q", id, k, v)
			}
		}
		if ts, _ := headerValue(m, dlq.HeaderFailedAt); !strings.HasSuffix(ts, "Z") {
			t.Errorf("%s: failed_at %q not UTC", id, ts)
		}
	}
	for id := range p.bad {
		if seen[id] != 1 {
			t.Errorf("%s dead-lettered %d times, want 1", id, seen[id])
		}
	}
	if seen["notjson"] != notJSON {
		t.Errorf("non-JSON dead letters = %d, want %d", seen["notjson"], notJSON)
	}
	if len(recs) != len(p.bad)+notJSON {
		t.Errorf("dead-letter topic holds %d records, want %d", len(recs), len(p.bad)+notJSON)
	}
}

func TestEveryEventDeliveredOrDeadLettered(t *testing.T) {
	c := newCluster(t, 3)
	brokers := c.ListenAddrs()
	p := makePlan(12, 6, mixedKinds)
	produce(t, brokers, srcTopic, p.msgs)
	produce(t, brokers, srcTopic, []kafka.Message{{Value: []byte("not json " + secret)}})
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)

	rec := newRecorder(5 * time.Millisecond)
	obs := newCountingObserver()
	logs := &syncBuffer{}
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), obs, logs)
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	if ok, why := in.c.Ready(); !ok || !strings.Contains(why, "3 partitions") {
		t.Errorf("Ready() = %v, %q", ok, why)
	}
	in.stop(t)

	rec.checkOrder(t, p.ok)
	if rec.maxFlight > 4 {
		t.Errorf("max uploads in flight %d > MaxInFlight 4", rec.maxFlight)
	}
	checkDeadLetters(t, brokers, p, 1)
	obs.mu.Lock()
	if got := obs.done["skipped/"+SkipListed]; got != p.skipped {
		t.Errorf("skipped = %d, want %d", got, p.skipped)
	}
	obs.mu.Unlock()
	out := logs.String()
	if strings.Contains(out, secret) {
		t.Error("a log line contains the login_token value")
	}
	for _, want := range []string{`"message":"consumer started"`, `"message":"partitions assigned"`, `"message":"event dead-lettered"`, `"message":"consumer stopped"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	if last, pending := in.c.Progress(); last.IsZero() || pending != 0 {
		t.Errorf("Progress() = %v, %d", last, pending)
	}
}

// TestSameKeyOneAtATimeUnderConcurrency puts every order in one partition
// with a wide in-flight limit: orders overlap, each order stays serial.
func TestSameKeyOneAtATimeUnderConcurrency(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	p := makePlan(40, 10, func(int, int) string { return "ok" })
	produce(t, brokers, srcTopic, p.msgs)
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)

	rec := newRecorder(3 * time.Millisecond)
	in := startConsumer(t, brokers, "a", 32, 5*time.Second, fakeMapper{}, rec.uploader("a"), nil, nil)
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	in.stop(t)
	rec.checkOrder(t, p.ok)
	if rec.maxFlight < 2 || rec.maxFlight > 32 {
		t.Errorf("max uploads in flight = %d, want in [2, 32]", rec.maxFlight)
	}
	if d := rec.duplicates(); d != 0 {
		t.Errorf("%d duplicate uploads without any crash", d)
	}
}

// TestAbruptStopThenRestartLosesNothing stops a consumer mid-stream without
// a drain (ShutdownTimeout ~0: in-flight uploads are cancelled) and checks a
// second consumer delivers the rest.
func TestAbruptStopThenRestartLosesNothing(t *testing.T) {
	c := newCluster(t, 2)
	brokers := c.ListenAddrs()
	p := makePlan(20, 15, func(int, int) string { return "ok" })
	produce(t, brokers, srcTopic, p.msgs)
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)

	rec := newRecorder(10 * time.Millisecond)
	a := startConsumer(t, brokers, "a", 8, time.Millisecond, fakeMapper{}, rec.uploader("a"), nil, nil)
	kafkatest.WaitFor(t, "a third delivered", func() bool { return rec.delivered.Load() > int64(len(p.msgs)/3) })
	a.stop(t)
	if rec.cancelled.Load() == 0 {
		t.Log("no upload was in flight at the stop") // possible, not a failure
	}
	if allCommitted(t, c, ends) {
		t.Fatal("everything committed before the restart; the test proves nothing")
	}
	b := startConsumer(t, brokers, "b", 8, 5*time.Second, fakeMapper{}, rec.uploader("b"), nil, nil)
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	b.stop(t)
	rec.checkOrder(t, p.ok)
	t.Logf("duplicates after the abrupt stop: %d (bound: in-flight limit 8 per partition window)", rec.duplicates())
}

// TestInstancesShareGroupThroughRebalances runs three instances that join
// and leave while events flow.
func TestInstancesShareGroupThroughRebalances(t *testing.T) {
	c := newCluster(t, 4)
	brokers := c.ListenAddrs()
	p := makePlan(24, 50, func(int, int) string { return "ok" })
	produce(t, brokers, srcTopic, p.msgs)
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)

	rec := newRecorder(10 * time.Millisecond)
	a := startConsumer(t, brokers, "a", 2, 2*time.Second, fakeMapper{}, rec.uploader("a"), nil, nil)
	kafkatest.WaitFor(t, "first deliveries", func() bool { return rec.delivered.Load() > 50 })
	b := startConsumer(t, brokers, "b", 2, 2*time.Second, fakeMapper{}, rec.uploader("b"), nil, nil)
	ctx := t.Context()
	if _, err := c.WaitGroupStable(ctx, "ordersync", 2); err != nil {
		t.Fatal(err)
	}
	d := startConsumer(t, brokers, "c", 2, 2*time.Second, fakeMapper{}, rec.uploader("c"), nil, nil)
	if _, err := c.WaitGroupStable(ctx, "ordersync", 3); err != nil {
		t.Fatal(err)
	}
	n := rec.delivered.Load()
	t.Logf("delivered with three members settled: %d of %d", n, len(p.msgs))
	kafkatest.WaitFor(t, "deliveries with three members", func() bool { return rec.delivered.Load() > n+50 })
	a.stop(t)
	if _, err := c.WaitGroupStable(ctx, "ordersync", 2); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	b.stop(t)
	d.stop(t)
	rec.checkOrder(t, p.ok)
	t.Logf("duplicates through rebalances: %d", rec.duplicates())
}

// TestDeadLetterFailureCommitsNothingPastEvent refuses dead-letter writes:
// later events are delivered but the commit stays before the failed event;
// once the fault lifts the event is dead-lettered and the commit moves on.
func TestDeadLetterFailureCommitsNothingPastEvent(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	p := makePlan(10, 1, func(o, _ int) string {
		if o == 2 {
			return "invalid"
		}
		return "ok"
	})
	produce(t, brokers, srcTopic, p.msgs)
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: dlqTopic, Err: kerr.NotEnoughReplicas, Count: -1})

	rec := newRecorder(time.Millisecond)
	obs := newCountingObserver()
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), obs, nil)
	kafkatest.WaitFor(t, "later events delivered and dead-letter retried", func() bool {
		return rec.delivered.Load() == 9 && obs.dlqFailed.Load() >= 3
	})
	// Wait two commit intervals after the later events finished: the commit
	// must not pass offset 2.
	time.Sleep(3 * commitInterval)
	if got := kafkatest.Committed(c, "ordersync", srcTopic)[0]; got > 2 {
		t.Fatalf("committed offset %d past the event whose dead-letter write fails (offset 2)", got)
	}
	if last, pending := in.c.Progress(); pending != 8 {
		t.Errorf("Progress() = %v, %d pending; want 8 (offsets 2..9)", last, pending)
	}
	if in.c.OldestInFlight() <= 0 {
		t.Error("OldestInFlight() = 0 with a stuck event")
	}
	h.Remove()
	kafkatest.WaitFor(t, "commit past the dead-lettered event", func() bool { return kafkatest.Committed(c, "ordersync", srcTopic)[0] == 10 })
	in.stop(t)
	checkDeadLetters(t, brokers, p, 0)
}

// TestShutdownBoundedWithHangingUploads cancels Run while uploads hang for
// an hour: the hanging events get the whole ShutdownTimeout, then Run
// cancels them, returns, and leaves them uncommitted.
func TestShutdownBoundedWithHangingUploads(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	p := makePlan(6, 1, func(o, _ int) string {
		if o >= 3 {
			return "hang"
		}
		return "ok"
	})
	produce(t, brokers, srcTopic, p.msgs)

	rec := newRecorder(time.Millisecond)
	const shutdown = 700 * time.Millisecond
	in := startConsumer(t, brokers, "a", 8, shutdown, fakeMapper{}, rec.uploader("a"), nil, nil)
	kafkatest.WaitFor(t, "hanging uploads started", func() bool { return rec.started.Load() == 6 })
	kafkatest.WaitFor(t, "first events committed", func() bool { return kafkatest.Committed(c, "ordersync", srcTopic)[0] == 3 })
	start := time.Now()
	in.stop(t)
	// Only a lower bound: the code holds the hanging events for the whole
	// ShutdownTimeout; how much longer Run takes on a busy machine is not
	// the test's to bound.
	if took := time.Since(start); took < shutdown {
		t.Errorf("Run returned %v after cancel, before its ShutdownTimeout %v", took, shutdown)
	}
	if rec.cancelled.Load() != 3 {
		t.Errorf("cancelled uploads = %d, want 3", rec.cancelled.Load())
	}
	if got := kafkatest.Committed(c, "ordersync", srcTopic)[0]; got != 3 {
		t.Errorf("committed %d, want 3 (hanging events never committed)", got)
	}
	if info := c.GroupInfo("ordersync"); info != nil && len(info.Members) != 0 {
		t.Errorf("group still has %d members after Run returned", len(info.Members))
	}
}

// TestOversizedEventDeadLetteredWithoutOriginal puts an event larger than the
// dead-letter topic accepts between ordinary ones: it is dead-lettered
// without its value and headers, and the partition moves on past it instead
// of retrying the write for ever.
func TestOversizedEventDeadLetteredWithoutOriginal(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, srcTopic),
		kfake.GroupMinSessionTimeout(500*time.Millisecond),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(8 << 20)}))
	brokers := c.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}).CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: dlqTopic, NumPartitions: 1, ReplicationFactor: 1,
			ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(1 << 20)}}}}})
	if err != nil || res.Errors[dlqTopic] != nil {
		t.Fatalf("create %s: %v %v", dlqTopic, err, res)
	}

	p := makePlan(6, 1, func(int, int) string { return "ok" })
	big := kafka.Message{Key: []byte("order-big"), Value: []byte(`{"order":"order-big","kind":"invalid","pad":"` +
		strings.Repeat("x", 2<<20) + `"}`), Headers: []kafka.Header{{Key: "trace", Value: []byte("big")}}}
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: srcTopic, BatchTimeout: time.Millisecond, BatchBytes: 8 << 20,
		RequiredAcks: kafka.RequireAll, Transport: tr}
	if err := w.WriteMessages(ctx, append([]kafka.Message{p.msgs[0], p.msgs[1], big}, p.msgs[2:]...)...); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	rec := newRecorder(time.Millisecond)
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), newCountingObserver(), nil)
	kafkatest.WaitFor(t, "every event delivered and the commit past the oversized one", func() bool {
		return rec.delivered.Load() == 6 && kafkatest.Committed(c, "ordersync", srcTopic)[0] == 7
	})
	in.stop(t)
	rec.checkOrder(t, p.ok)

	dead := kafkatest.ReadTopic(t, brokers[0], dlqTopic)
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	omitted, _ := headerValue(dead[0], dlq.HeaderOriginalOmitted)
	class, _ := headerValue(dead[0], dlq.HeaderErrorClass)
	offset, _ := headerValue(dead[0], dlq.HeaderOriginalOffset)
	_, trace := headerValue(dead[0], "trace")
	if string(dead[0].Key) != "order-big" || len(dead[0].Value) != 0 || trace ||
		omitted != strconv.Itoa(len(big.Value)+len("trace")+len("big")) || class != dlq.ClassInvalidEvent || offset != "2" {
		t.Errorf("dead letter: key %q, %d value bytes, omitted %q, class %q, offset %q, original header kept %v",
			dead[0].Key, len(dead[0].Value), omitted, class, offset, trace)
	}
}

// TestCompressedAndTransactionalProducers produces as real producers do —
// batches compressed with each codec Kafka knows, then committed
// transactions — with franz-go's client: every event is delivered, the
// transaction markers between them are neither events nor dead letters, and
// the commit reaches the end of the partition.
func TestCompressedAndTransactionalProducers(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	p := makePlan(10, 1, func(int, int) string { return "ok" })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	record := func(m kafka.Message) *kgo.Record {
		return &kgo.Record{Key: m.Key, Value: m.Value, Headers: []kgo.RecordHeader{{Key: "trace", Value: m.Key}}}
	}
	codecs := []kgo.CompressionCodec{kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()}
	for i, codec := range codecs {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(srcTopic), kgo.ProducerBatchCompression(codec))
		if err != nil {
			t.Fatal(err)
		}
		err = cl.ProduceSync(ctx, record(p.msgs[i])).FirstErr()
		cl.Close()
		if err != nil {
			t.Fatalf("produce with %v: %v", codec, err)
		}
	}
	tx, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(srcTopic), kgo.TransactionalID("outbox-relay"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for _, batch := range [][]kafka.Message{p.msgs[4:7], p.msgs[7:]} {
		if err := tx.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, m := range batch {
			if err := tx.ProduceSync(ctx, record(m)).FirstErr(); err != nil {
				t.Fatalf("produce in a transaction: %v", err)
			}
		}
		if err := tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatalf("commit the transaction: %v", err)
		}
	}
	end := int64(len(p.msgs) + 2) // ten events and two commit markers

	rec := newRecorder(time.Millisecond)
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), newCountingObserver(), nil)
	kafkatest.WaitFor(t, "every event delivered and the commit at the end of the partition", func() bool {
		return rec.delivered.Load() == int64(len(p.msgs)) && kafkatest.Committed(c, "ordersync", srcTopic)[0] == end
	})
	in.stop(t)
	rec.checkOrder(t, p.ok)
	if dead := kafkatest.ReadTopic(t, brokers[0], dlqTopic); len(dead) != 0 {
		t.Errorf("%d dead letters, want none (offset %d first)", len(dead), dead[0].Offset)
	}
}

// TestPartitionsAddedWhileRunning adds partitions to the source topic while
// the worker runs: events produced to the new partitions are delivered and
// committed without a restart (kafka-go only notices new partitions at a
// rebalance unless told to watch for them).
func TestPartitionsAddedWhileRunning(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	p := makePlan(40, 1, func(int, int) string { return "ok" })
	produce(t, brokers, srcTopic, p.msgs[:10])
	rec := newRecorder(time.Millisecond)
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), newCountingObserver(), nil)
	kafkatest.WaitFor(t, "the first events delivered", func() bool { return rec.delivered.Load() == 10 })

	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := (&kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}).CreatePartitions(ctx, &kafka.CreatePartitionsRequest{
		Topics: []kafka.TopicPartitionsConfig{{Name: srcTopic, Count: 4}}})
	if err != nil || res.Errors[srcTopic] != nil {
		t.Fatalf("add partitions: %v %v", err, res)
	}
	produce(t, brokers, srcTopic, p.msgs[10:])
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)
	if len(ends) != 4 {
		t.Fatalf("end offsets %v, want 4 partitions", ends)
	}
	kafkatest.WaitFor(t, "every event delivered and committed", func() bool {
		return rec.delivered.Load() == 40 && allCommitted(t, c, ends)
	})
	in.stop(t)
	rec.checkOrder(t, p.ok)
}

// TestSourceTopicCreatedAfterStart starts the worker before its source topic
// exists: the group does not churn while it is missing, and once it is
// created its events are delivered without a restart.
func TestSourceTopicCreatedAfterStart(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(2, dlqTopic), kfake.GroupMinSessionTimeout(500*time.Millisecond))
	brokers := c.ListenAddrs()
	rec := newRecorder(time.Millisecond)
	logs := &syncBuffer{}
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), newCountingObserver(), logs)
	kafkatest.WaitFor(t, "the missing topic reported", func() bool {
		return strings.Contains(logs.String(), "source topic does not exist")
	})
	time.Sleep(2 * time.Second) // two watch intervals with the topic missing
	if n := strings.Count(logs.String(), `"message":"partitions assigned"`); n != 1 {
		t.Errorf("%d generations while the topic was missing, want 1", n)
	}

	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := (&kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}).CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: srcTopic, NumPartitions: 3, ReplicationFactor: 1}}})
	if err != nil || res.Errors[srcTopic] != nil {
		t.Fatalf("create %s: %v %v", srcTopic, err, res)
	}
	p := makePlan(30, 1, func(int, int) string { return "ok" })
	produce(t, brokers, srcTopic, p.msgs)
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)
	kafkatest.WaitFor(t, "every event delivered and committed", func() bool {
		return rec.delivered.Load() == 30 && allCommitted(t, c, ends)
	})
	in.stop(t)
	rec.checkOrder(t, p.ok)
}

// TestLargeInFlightLimitCostsNothingUnused runs with an in-flight limit of
// 100,000 and a handful of events: upload goroutines are started as uploads
// need them, not 100,000 at the start (1.5 GB of stacks for a limit of a
// million, measured before).
func TestLargeInFlightLimitCostsNothingUnused(t *testing.T) {
	c := newCluster(t, 2)
	brokers := c.ListenAddrs()
	p := makePlan(20, 2, func(int, int) string { return "ok" })
	produce(t, brokers, srcTopic, p.msgs)
	rec := newRecorder(time.Millisecond)
	in := startConsumer(t, brokers, "a", 100_000, 5*time.Second, fakeMapper{}, rec.uploader("a"), newCountingObserver(), nil)
	kafkatest.WaitFor(t, "every event delivered", func() bool { return rec.delivered.Load() == 40 })
	if n := runtime.NumGoroutine(); n > 2_000 {
		t.Errorf("%d goroutines with 40 events delivered", n)
	}
	in.stop(t)
	rec.checkOrder(t, p.ok)
}

func TestNewRequiresDeadLetterWriter(t *testing.T) {
	_, err := New(Config{Brokers: []string{"127.0.0.1:1"}, Topics: []string{srcTopic}, GroupID: "g",
		DLQTopic: dlqTopic, MaxInFlight: 1}, fakeMapper{}, nil)
	if !errors.Is(err, ErrNoDeadLetters) {
		t.Fatalf("New without DeadLetters: %v, want ErrNoDeadLetters", err)
	}
}
