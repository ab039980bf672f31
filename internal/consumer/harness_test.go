package consumer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/uploader"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if credsDir != "" {
		_ = os.RemoveAll(credsDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

const (
	srcTopic = "orders"
	dlqTopic = "orders.dlq"
	secret   = "LOGIN-TOKEN-SECRET-0123456789"
)

// testEvent is the value format the seam fakes understand. Kind selects the
// fate: ok, skip, invalid (mapper error), reject, exhaust, hang (upload
// blocks until cancelled).
type testEvent struct {
	Order string `json:"order"`
	Seq   int    `json:"seq"`
	Kind  string `json:"kind"`
	Token string `json:"login_token"`
}

// fakeMapper is the Mapper seam: JSON testEvent in, the same bytes as body.
type fakeMapper struct{}

func (fakeMapper) Map(value []byte, _ []mapper.Header) (mapper.Result, error) {
	var e testEvent
	if err := json.Unmarshal(value, &e); err != nil {
		return mapper.Result{}, &mapper.InvalidEventError{Violations: []mapper.Violation{{Field: "", Reason: "value is not JSON"}}}
	}
	id := fmt.Sprintf("%s-%d", e.Order, e.Seq)
	switch e.Kind {
	case "invalid":
		return mapper.Result{}, &mapper.InvalidEventError{EventID: id, OrderNo: e.Order, Violations: []mapper.Violation{
			{Field: "/order/dishes/0/unit", Reason: "must be BY_SHARE or BY_WEIGHT"}, {Field: "/order/entry", Reason: "required"}}}
	case "skip":
		return mapper.Result{Skipped: true, SkipReason: "skip list", EventID: id, OrderNo: e.Order}, nil
	}
	return mapper.Result{EventID: id, OrderNo: e.Order, Body: value}, nil
}

// recorder is the Uploader seam: it records arrivals per order and per
// instance, checks that one order never has two uploads at once and that the
// instance never exceeds its in-flight bound.
type recorder struct {
	latency time.Duration

	mu         sync.Mutex
	active     map[string]int
	arrivals   map[string][]arrival // per order, in completion order
	violations []string
	inFlight   int
	maxFlight  int
	delivered  atomic.Int64
	cancelled  atomic.Int64
	started    atomic.Int64
	// hangOff makes "hang" events upload like "ok" ones from now on.
	hangOff atomic.Bool
}

type arrival struct {
	seq      int
	instance string
}

func newRecorder(latency time.Duration) *recorder {
	return &recorder{latency: latency, active: map[string]int{}, arrivals: map[string][]arrival{}}
}

// uploader returns the seam for one instance.
func (r *recorder) uploader(instance string) Uploader { return instanceUploader{r, instance} }

type instanceUploader struct {
	r    *recorder
	name string
}

func (u instanceUploader) Upload(ctx context.Context, body []byte) uploader.Outcome {
	r := u.r
	var e testEvent
	if err := json.Unmarshal(body, &e); err != nil {
		panic(err)
	}
	r.started.Add(1)
	r.mu.Lock()
	r.active[e.Order]++
	if r.active[e.Order] > 1 {
		r.violations = append(r.violations, fmt.Sprintf("order %s: two uploads at once (seq %d)", e.Order, e.Seq))
	}
	r.inFlight++
	r.maxFlight = max(r.maxFlight, r.inFlight)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.active[e.Order]--
		r.inFlight--
		r.mu.Unlock()
	}()

	wait := r.latency
	if e.Kind == "hang" && !r.hangOff.Load() {
		wait = time.Hour
	}
	select {
	case <-ctx.Done():
		r.cancelled.Add(1)
		return uploader.Outcome{Class: uploader.Cancelled, Attempts: 1, Err: ctx.Err()}
	case <-time.After(wait):
	}
	switch e.Kind {
	case "reject":
		return uploader.Outcome{Class: uploader.Rejected, Attempts: 1, HTTPStatus: 400, Code: "PARAM_ERROR",
			Message: "out_order_no invalid", Field: "/out_order_no", RequestID: "req-" + e.Order,
			Err: errors.New("wechat pay answered 400 PARAM_ERROR: out_order_no invalid")}
	case "exhaust":
		return uploader.Outcome{Class: uploader.RetriesExhausted, Attempts: 4, HTTPStatus: 503, Code: "SYSTEM_ERROR",
			Err: errors.New("retries exhausted: wechat pay answered 503 SYSTEM_ERROR")}
	}
	r.mu.Lock()
	r.arrivals[e.Order] = append(r.arrivals[e.Order], arrival{seq: e.Seq, instance: u.name})
	r.mu.Unlock()
	r.delivered.Add(1)
	return uploader.Outcome{Class: uploader.Delivered, Attempts: 1, HTTPStatus: 204}
}

// checkOrder verifies that every want order's last upload is its last ok
// event, every ok event arrived, and within one instance no order's events
// went backwards.
func (r *recorder) checkOrder(t *testing.T, want map[string][]int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.violations {
		t.Error(v)
	}
	for order, seqs := range want {
		got := r.arrivals[order]
		seen := map[int]bool{}
		last := map[string]int{}
		for _, a := range got {
			seen[a.seq] = true
			if prev, ok := last[a.instance]; ok && a.seq < prev {
				t.Errorf("order %s on %s: seq %d after %d", order, a.instance, a.seq, prev)
			}
			last[a.instance] = a.seq
		}
		for _, s := range seqs {
			if !seen[s] {
				t.Errorf("order %s: seq %d never delivered", order, s)
			}
		}
		if len(seqs) > 0 && (len(got) == 0 || got[len(got)-1].seq != seqs[len(seqs)-1]) {
			t.Errorf("order %s: last upload %v, want seq %d last", order, got, seqs[len(seqs)-1])
		}
	}
}

func (r *recorder) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, as := range r.arrivals {
		seen := map[int]bool{}
		for _, a := range as {
			if seen[a.seq] {
				n++
			}
			seen[a.seq] = true
		}
	}
	return n
}

// countingObserver counts what the tests wait on.
type countingObserver struct {
	nopObserver
	mu        sync.Mutex
	done      map[string]int
	dlqFailed atomic.Int64
}

func newCountingObserver() *countingObserver { return &countingObserver{done: map[string]int{}} }

func (o *countingObserver) EventDone(outcome, class string) {
	o.mu.Lock()
	o.done[outcome+"/"+class]++
	o.mu.Unlock()
}
func (o *countingObserver) DeadLetterWriteFailed() { o.dlqFailed.Add(1) }

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newCluster starts a cluster with the source topic in partitions
// partitions and a two-partition dead-letter topic.
func newCluster(t *testing.T, partitions int32) *kfake.Cluster {
	t.Helper()
	return kafkatest.Cluster(t, kfake.SeedTopics(partitions, srcTopic), kfake.SeedTopics(2, dlqTopic),
		kfake.GroupMinSessionTimeout(500*time.Millisecond))
}

// plan is a batch of test events and what should become of them.
type plan struct {
	msgs    []kafka.Message
	ok      map[string][]int  // order -> seqs that must be delivered, in order
	bad     map[string]string // "order/seq" -> dead-letter class
	skipped int
}

// makePlan builds orders×perOrder events; kindOf picks each event's kind.
func makePlan(orders, perOrder int, kindOf func(o, s int) string) plan {
	p := plan{ok: map[string][]int{}, bad: map[string]string{}}
	for s := 0; s < perOrder; s++ {
		for o := 0; o < orders; o++ {
			order := fmt.Sprintf("order-%03d", o)
			kind := kindOf(o, s)
			e := testEvent{Order: order, Seq: s, Kind: kind, Token: secret}
			v, _ := json.Marshal(e)
			m := kafka.Message{Key: []byte(order), Value: v, Headers: []kafka.Header{{Key: "trace", Value: []byte(order)}}}
			switch kind {
			case "ok":
				p.ok[order] = append(p.ok[order], s)
			case "skip":
				p.skipped++
			case "invalid":
				p.bad[fmt.Sprintf("%s/%d", order, s)] = "invalid_event"
			case "reject":
				p.bad[fmt.Sprintf("%s/%d", order, s)] = "rejected"
			case "exhaust":
				p.bad[fmt.Sprintf("%s/%d", order, s)] = "retries_exhausted"
			}
			p.msgs = append(p.msgs, m)
		}
	}
	return p
}

func produce(t *testing.T, brokers []string, topic string, msgs []kafka.Message) {
	t.Helper()
	produceBatched(t, brokers, topic, msgs, 1000)
}

// produceBatched writes msgs to topic in record batches of at most batch messages.
func produceBatched(t *testing.T, brokers []string, topic string, msgs []kafka.Message, batch int) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Murmur2Balancer{},
		BatchTimeout: time.Millisecond, BatchSize: batch, RequiredAcks: kafka.RequireAll, Transport: &kafka.Transport{}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
	w.Close()
	w.Transport.(*kafka.Transport).CloseIdleConnections()
}

// testDeadLetters returns a dead-letter writer to dlqTopic, closed when tb ends.
func testDeadLetters(tb testing.TB, brokers []string) *dlq.Writer {
	tb.Helper()
	w, err := dlq.NewWriter(dlq.WriterConfig{Brokers: brokers, Topic: dlqTopic})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = w.Close() })
	return w
}

// instance is one running consumer.
type instance struct {
	c      *Consumer
	cancel context.CancelFunc
	done   chan error
}

func startConsumer(t *testing.T, brokers []string, name string, maxInFlight int, shutdown time.Duration,
	m Mapper, u Uploader, obs Observer, logs *syncBuffer) *instance {
	t.Helper()
	return startConsumerWith(t, brokers, name, maxInFlight, shutdown, m, u, obs, logs, nil)
}

// startConsumerWith is startConsumer with tweak, when not nil, applied to
// the configuration before New.
func startConsumerWith(t *testing.T, brokers []string, name string, maxInFlight int, shutdown time.Duration,
	m Mapper, u Uploader, obs Observer, logs *syncBuffer, tweak func(*Config)) *instance {
	t.Helper()
	var log zerolog.Logger
	if logs != nil {
		log = zerolog.New(logs).Level(zerolog.DebugLevel)
	} else {
		log = zerolog.New(testWriter{t}).Level(zerolog.WarnLevel)
	}
	cfg := Config{
		Brokers: brokers, Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic, DeadLetters: testDeadLetters(t, brokers),
		MaxInFlight: maxInFlight, SessionTimeout: 3 * time.Second, RebalanceTimeout: 4 * time.Second,
		ShutdownTimeout: shutdown, PartitionWatchInterval: time.Second,
		Logger: log.With().Str("instance", name).Logger(), Observer: obs,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(cfg, m, u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{c: c, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- c.Run(ctx) }()
	t.Cleanup(func() { in.stop(t) })
	return in
}

// stop cancels the instance and waits for Run to return (idempotent).
func (in *instance) stop(t *testing.T) {
	t.Helper()
	in.cancel()
	if in.done == nil {
		return
	}
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(kafkatest.WaitBound):
		t.Fatalf("Run did not return after %v", kafkatest.WaitBound)
	}
	in.done = nil
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// commitMetadata returns the metadata of the group's commits for srcTopic.
func commitMetadata(c *kfake.Cluster) map[int32]string {
	out := map[int32]string{}
	if gi := c.GroupInfo("ordersync"); gi != nil {
		for p, cm := range gi.Commits[srcTopic] {
			out[p] = cm.Metadata
		}
	}
	return out
}

// allCommitted reports whether the group committed every partition's end.
func allCommitted(t *testing.T, c *kfake.Cluster, ends map[int32]int64) bool {
	got := kafkatest.Committed(c, "ordersync", srcTopic)
	for p, end := range ends {
		if end > 0 && got[p] != end {
			return false
		}
	}
	return true
}

func headerValue(m kafka.Message, key string) (string, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

func itoa(n int) string { return fmt.Sprint(n) }

func newBenchCluster(b *testing.B) *kfake.Cluster {
	b.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, srcTopic), kfake.SeedTopics(1, dlqTopic),
		kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func produceB(b *testing.B, brokers []string, msgs []kafka.Message) {
	b.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: srcTopic, BatchTimeout: time.Millisecond, BatchSize: 1000,
		RequiredAcks: kafka.RequireAll, Transport: &kafka.Transport{}}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		b.Fatal(err)
	}
	w.Close()
	w.Transport.(*kafka.Transport).CloseIdleConnections()
}
