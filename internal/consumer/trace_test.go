package consumer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/tracing"
)

// recordedTracer adapts internal/tracing to the consumer's Tracer, as cmd/worker does.
type recordedTracer struct{ t *tracing.Tracer }

func (r recordedTracer) StartEvent(m kafka.Message) EventTrace { return r.t.StartEvent(m) }

// TestEventTraces: each event is one span, child of its record's traceparent, with a map and an
// upload span beneath it, and a dead-letter write span when it is dead-lettered.
func TestEventTraces(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	traceparent := func(trace string) []kafka.Header {
		return []kafka.Header{{Key: "traceparent", Value: []byte("00-" + trace + "-00f067aa0ba902b7-01")}}
	}
	const okTrace, rejectTrace = "4bf92f3577b34da6a3ce929d0e0e4736", "5bf92f3577b34da6a3ce929d0e0e4737"
	produce(t, brokers, srcTopic, []kafka.Message{
		{Key: []byte("A"), Value: []byte(`{"order":"A","seq":1,"kind":"ok","login_token":"` + secret + `"}`), Headers: traceparent(okTrace)},
		{Key: []byte("B"), Value: []byte(`{"order":"B","seq":1,"kind":"reject","login_token":"` + secret + `"}`), Headers: traceparent(rejectTrace)},
	})
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cons, err := New(Config{
		Brokers: brokers, Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic, DeadLetters: testDeadLetters(t, brokers),
		MaxInFlight: 4, SessionTimeout: 3 * time.Second, RebalanceTimeout: 4 * time.Second,
		ShutdownTimeout: 5 * time.Second, Logger: zerolog.Nop(), Tracer: recordedTracer{tracing.New(tp)},
	}, fakeMapper{}, newRecorder(time.Millisecond).uploader("a"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{c: cons, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- cons.Run(ctx) }()
	t.Cleanup(func() { in.stop(t) })
	kafkatest.WaitFor(t, "both events committed", func() bool { return allCommitted(t, c, ends) })
	in.stop(t)

	byTrace := map[string][]string{} // trace id → "parent>name" of each span, in end order
	for _, s := range rec.Ended() {
		parent := "remote"
		if !s.Parent().IsRemote() {
			parent = "event"
		}
		byTrace[s.SpanContext().TraceID().String()] = append(byTrace[s.SpanContext().TraceID().String()], parent+">"+s.Name())
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), secret) {
				t.Errorf("span %s attribute %s carries the login_token", s.Name(), kv.Key)
			}
		}
	}
	want := map[string]string{
		okTrace:     "event>map event>upload remote>process orders",
		rejectTrace: "event>map event>upload event>dead-letter write remote>process orders",
	}
	for trace, w := range want {
		if got := strings.Join(byTrace[trace], " "); got != w {
			t.Errorf("trace %s: spans %q, want %q", trace, got, w)
		}
	}
	if len(byTrace) != len(want) {
		t.Errorf("%d traces, want %d: %v", len(byTrace), len(want), byTrace)
	}
}

// TestEventTraceHasOneSpanPerUploadAttempt: an event the sandbox answers 500 and then 204 is one
// event span with map, two upload attempts (status, WeChat Pay code, Request-ID each) and the
// upload beneath it, through the real mapper and uploader.
func TestEventTraceHasOneSpanPerUploadAttempt(t *testing.T) {
	st := newStack(t, sandbox.Faults{ServerErrorRate: 1, Times: 1}, 4)
	var ev sample.Event
	for _, e := range sample.Generate(sample.Options{Seed: 3, Orders: 1, Start: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}) {
		if e.Expect == sample.ExpectDelivered {
			ev = e
			break
		}
	}
	token := ""
	if i := strings.Index(string(ev.Value), `"login_token":"`); i >= 0 {
		rest := string(ev.Value)[i+len(`"login_token":"`):]
		token = rest[:strings.IndexByte(rest, '"')]
	}
	if token == "" {
		t.Fatalf("the sample event carries no login_token: %s", ev.Value)
	}
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	produce(t, brokers, srcTopic, sampleMessages([]sample.Event{ev}))
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cons, err := New(Config{
		Brokers: brokers, Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic, DeadLetters: testDeadLetters(t, brokers),
		MaxInFlight: 4, SessionTimeout: 3 * time.Second, RebalanceTimeout: 4 * time.Second,
		ShutdownTimeout: 5 * time.Second, Logger: zerolog.Nop(), Tracer: recordedTracer{tracing.New(tp)},
	}, st.m, st.u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{c: cons, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- cons.Run(ctx) }()
	t.Cleanup(func() { in.stop(t) })
	kafkatest.WaitFor(t, "the event committed", func() bool { return allCommitted(t, c, ends) })
	in.stop(t)

	spans := rec.Ended()
	var names []string
	for _, s := range spans {
		names = append(names, s.Name())
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), token) {
				t.Errorf("span %s attribute %s carries the login_token", s.Name(), kv.Key)
			}
		}
	}
	if got, want := strings.Join(names, ","), "map,upload attempt,upload attempt,upload,process orders"; got != want {
		t.Fatalf("spans %s, want %s", got, want)
	}
	root := spans[len(spans)-1]
	for _, s := range spans[:len(spans)-1] {
		if s.Parent().SpanID() != root.SpanContext().SpanID() || s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("%s is not a child of the event span", s.Name())
		}
	}
	attrs := func(s sdktrace.ReadOnlySpan) map[string]string {
		m := map[string]string{}
		for _, kv := range s.Attributes() {
			m[string(kv.Key)] = kv.Value.Emit()
		}
		return m
	}
	records := st.sb.OrderRecords(ev.OrderNo)
	if len(records) != 1 {
		t.Fatalf("sandbox holds %d records of order %s, want 1", len(records), ev.OrderNo)
	}
	first, second := attrs(spans[1]), attrs(spans[2])
	if first["ordersync.upload.attempt"] != "1" || first["ordersync.upload.result"] != "transient" ||
		first["http.response.status_code"] != "500" || first["ordersync.wechatpay.code"] != "SYSTEM_ERROR" ||
		first["ordersync.request_id"] == "" || spans[1].Status().Code != codes.Error {
		t.Errorf("first attempt %v status %v, want attempt 1 transient 500 SYSTEM_ERROR with a Request-ID, an error", first, spans[1].Status())
	}
	if second["ordersync.upload.attempt"] != "2" || second["ordersync.upload.result"] != "delivered" ||
		second["http.response.status_code"] != "204" || second["ordersync.wechatpay.code"] != "" ||
		second["ordersync.request_id"] == "" || second["ordersync.request_id"] == first["ordersync.request_id"] ||
		spans[2].Status().Code != codes.Unset {
		t.Errorf("second attempt %v status %v, want attempt 2 delivered 204, its own Request-ID", second, spans[2].Status())
	}
	if up := attrs(spans[3]); up["ordersync.upload.attempts"] != "2" || up["ordersync.request_id"] != second["ordersync.request_id"] {
		t.Errorf("upload span %v, want 2 attempts ending with the second's Request-ID", up)
	}
	if spans[1].EndTime().After(spans[2].StartTime()) {
		t.Errorf("the attempts overlap: first ends %v, second starts %v", spans[1].EndTime(), spans[2].StartTime())
	}
}
