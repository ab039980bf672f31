package tracing

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/uploader"
)

const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
	loginToken  = "071oYFSN19sCH31AyNSN15QDSN1oYFSA"
)

func newRecorded() (*Tracer, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	return New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))), rec
}

func message(headers ...kafka.Header) kafka.Message {
	return kafka.Message{Topic: "orders", Partition: 3, Offset: 1200, Key: []byte("20150806125346"),
		Value:   []byte(`{"event_id":"evt-1","customer":{"login_token":"` + loginToken + `"}}`),
		Headers: headers}
}

// TestEventSpanTree: one event rejected by the API and dead-lettered on the second write is one
// span, child of the record's traceparent, with map, upload and two dead-letter writes beneath it.
func TestEventSpanTree(t *testing.T) {
	tr, rec := newRecorded()
	ev := tr.StartEvent(message(
		kafka.Header{Key: "traceparent", Value: []byte("00-" + parentTrace + "-" + parentSpan + "-01")},
		kafka.Header{Key: "x-secret", Value: []byte(loginToken)}))
	start := time.Now()
	ev.Mapped(start, mapper.Result{EventID: "evt-1", OrderNo: "20150806125346", Status: "PAY_SUCCESS",
		Body: []byte(`{"login_token":"` + loginToken + `"}`)}, nil)
	ev.Uploaded(start, uploader.Outcome{Class: uploader.Rejected, Attempts: 3, HTTPStatus: 400, Code: "INVALID_REQUEST",
		Message: "login_token " + loginToken + " invalid", RequestID: "req-1", Err: errors.New("400 " + loginToken)})
	ev.DeadLetterWritten(start, "rejected", errors.New("not enough replicas"))
	ev.DeadLetterWritten(start, "rejected", nil)
	ev.End(true)

	spans := rec.Ended()
	if len(spans) != 5 {
		t.Fatalf("%d spans ended, want 5 (map, upload, 2 dead-letter writes, the event)", len(spans))
	}
	root := spans[4]
	if root.Name() != "process orders" || root.SpanKind().String() != "consumer" {
		t.Fatalf("root span %q kind %s", root.Name(), root.SpanKind())
	}
	if got := root.Parent(); got.TraceID().String() != parentTrace || got.SpanID().String() != parentSpan || !got.IsRemote() {
		t.Errorf("root parent = %s/%s remote=%v, want the record's traceparent", got.TraceID(), got.SpanID(), got.IsRemote())
	}
	wantAttrs(t, root, map[string]string{"messaging.system": "kafka", "messaging.destination.name": "orders",
		"messaging.destination.partition.id": "3", "messaging.kafka.offset": "1200",
		"ordersync.event_id": "evt-1", "ordersync.order_no": "20150806125346"})

	wantChildren := []struct {
		name   string
		attrs  map[string]string
		status codes.Code
	}{
		{"map", map[string]string{"ordersync.status": "PAY_SUCCESS"}, codes.Unset},
		{"upload", map[string]string{"ordersync.upload.result": "rejected", "ordersync.upload.attempts": "3",
			"http.response.status_code": "400", "ordersync.wechatpay.code": "INVALID_REQUEST", "ordersync.request_id": "req-1"}, codes.Error},
		{"dead-letter write", map[string]string{"ordersync.error.class": "rejected"}, codes.Error},
		{"dead-letter write", map[string]string{"ordersync.error.class": "rejected"}, codes.Unset},
	}
	for i, want := range wantChildren {
		s := spans[i]
		if s.Name() != want.name {
			t.Errorf("child %d is %q, want %q", i, s.Name(), want.name)
			continue
		}
		if s.Parent().SpanID() != root.SpanContext().SpanID() || s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("%s: parent %s, want the event span %s", s.Name(), s.Parent().SpanID(), root.SpanContext().SpanID())
		}
		if s.Status().Code != want.status {
			t.Errorf("%s: status %v, want %v", s.Name(), s.Status().Code, want.status)
		}
		wantAttrs(t, s, want.attrs)
	}
	noSecret(t, spans, loginToken)
}

func TestEventWithoutTraceparentStartsATrace(t *testing.T) {
	tr, rec := newRecorded()
	ev := tr.StartEvent(message(kafka.Header{Key: "traceparent", Value: []byte("garbage")}))
	ev.Mapped(time.Now(), mapper.Result{}, &mapper.InvalidEventError{EventID: "evt-2",
		Violations: []mapper.Violation{{Field: "/order/dishes/0/unit", Reason: "must be BY_SHARE or BY_WEIGHT"}}})
	ev.End(false)
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	if spans[1].Parent().IsValid() || !spans[1].SpanContext().TraceID().IsValid() {
		t.Errorf("root parent %v: want a new trace", spans[1].Parent())
	}
	wantAttrs(t, spans[0], map[string]string{"ordersync.error.field": "/order/dishes/0/unit", "ordersync.violations": "1"})
	wantAttrs(t, spans[1], map[string]string{"ordersync.event_id": "evt-2", "ordersync.unfinished": "true"})
	if spans[0].Status().Code != codes.Error {
		t.Errorf("map status %v, want Error", spans[0].Status().Code)
	}
}

func TestEnabled(t *testing.T) {
	for _, tt := range []struct {
		give    map[string]string
		want    bool
		wantErr string
	}{
		{give: map[string]string{}, want: false},
		{give: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, want: true},
		{give: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, want: true},
		{give: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, want: false},
		{give: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, want: false},
		{give: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: "OTEL_TRACES_EXPORTER=zipkin"},
		{give: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, wantErr: "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"},
	} {
		got, err := Enabled(func(k string) string { return tt.give[k] })
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrUnsupported) {
				t.Errorf("%v: error %v, want %q", tt.give, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%v: Enabled = %v, %v; want %v", tt.give, got, err, tt.want)
		}
	}
}

func wantAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, kv := range s.Attributes() {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: attribute %s = %q, want %q", s.Name(), k, got[k], v)
		}
	}
}

// noSecret fails when any span's name, attribute, status or event holds secret.
func noSecret(t *testing.T, spans []sdktrace.ReadOnlySpan, secret string) {
	t.Helper()
	for _, s := range spans {
		texts := []string{s.Name(), s.Status().Description}
		for _, kv := range s.Attributes() {
			texts = append(texts, kv.Value.Emit())
		}
		for _, e := range s.Events() {
			texts = append(texts, e.Name)
			for _, kv := range e.Attributes {
				texts = append(texts, kv.Value.Emit())
			}
		}
		for _, txt := range texts {
			if strings.Contains(txt, secret) {
				t.Errorf("span %s carries the secret: %q", s.Name(), txt)
			}
		}
	}
}

// TestAttemptSpans: each attempt the uploader tells of is an "upload attempt" child of the event
// span, numbered across the event, over the attempt's own times, an error unless delivered.
func TestAttemptSpans(t *testing.T) {
	tr, rec := newRecorded()
	ev := tr.StartEvent(message())
	t0 := time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)
	ev.Attempted(uploader.Attempt{Start: t0, End: t0.Add(30 * time.Millisecond), Result: "transient",
		HTTPStatus: 500, Code: "SYSTEM_ERROR", RequestID: "req-1"})
	ev.Attempted(uploader.Attempt{Start: t0.Add(time.Second), End: t0.Add(time.Second + 20*time.Millisecond),
		Result: "transient"})
	ev.Attempted(uploader.Attempt{Start: t0.Add(2 * time.Second), End: t0.Add(2*time.Second + 10*time.Millisecond),
		Result: "delivered", HTTPStatus: 204, RequestID: "req-3"})
	ev.End(true)

	spans := rec.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans ended, want 4 (3 attempts, the event)", len(spans))
	}
	root := spans[3]
	want := []struct {
		attrs  map[string]string
		absent string
		status codes.Code
	}{
		{map[string]string{"ordersync.upload.attempt": "1", "ordersync.upload.result": "transient",
			"http.response.status_code": "500", "ordersync.wechatpay.code": "SYSTEM_ERROR", "ordersync.request_id": "req-1"}, "", codes.Error},
		{map[string]string{"ordersync.upload.attempt": "2", "ordersync.upload.result": "transient"}, "http.response.status_code", codes.Error},
		{map[string]string{"ordersync.upload.attempt": "3", "ordersync.upload.result": "delivered",
			"http.response.status_code": "204", "ordersync.request_id": "req-3"}, "ordersync.wechatpay.code", codes.Unset},
	}
	for i, w := range want {
		s := spans[i]
		if s.Name() != "upload attempt" || s.SpanKind().String() != "client" || s.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Errorf("span %d: %q kind %s parent %s, want an upload attempt under the event", i, s.Name(), s.SpanKind(), s.Parent().SpanID())
		}
		if s.Status().Code != w.status {
			t.Errorf("attempt %d: status %v, want %v", i+1, s.Status().Code, w.status)
		}
		wantAttrs(t, s, w.attrs)
		for _, kv := range s.Attributes() {
			if string(kv.Key) == w.absent {
				t.Errorf("attempt %d has %s", i+1, w.absent)
			}
		}
	}
	if !spans[0].StartTime().Equal(t0) || !spans[0].EndTime().Equal(t0.Add(30*time.Millisecond)) {
		t.Errorf("first attempt spans %v..%v, want the attempt's own times", spans[0].StartTime(), spans[0].EndTime())
	}
}
