package consumer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

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
	ends := endOffsets(t, brokers, srcTopic)

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cons, err := New(Config{
		Brokers: brokers, Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic,
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
	waitFor(t, 30*time.Second, "both events committed", func() bool { return allCommitted(t, c, ends) })
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
