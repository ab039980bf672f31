// Package tracing records OpenTelemetry traces of order events: one span per
// event, from fetch to finish, whose parent is the W3C traceparent in the Kafka
// record's headers when it has one, with a child span for mapping, for each
// upload attempt (its HTTP status, WeChat Pay code and Request-ID), for the
// upload (all its attempts: their count, the last status and code) and for
// each dead-letter write. Tracing is off unless the standard
// OTEL_* variables name an OTLP endpoint (README "Operating it"); spans are
// exported over OTLP/HTTP in batches from a bounded queue.
//
// No attribute carries a record's value or key bytes, a request body, a header
// value or an API message: only where the event came from, its ids, the
// outcome, HTTP status, WeChat Pay code, Request-ID and violated field.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/uploader"
)

// ErrUnsupported reports an OTEL_* setting this build cannot honour.
var ErrUnsupported = errors.New("unsupported")

// Enabled reports whether the environment (read through getenv) asks for
// traces: an OTLP endpoint in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SDK_DISABLED not "true", and
// OTEL_TRACES_EXPORTER unset or "otlp" ("none" turns tracing off). The error
// names a variable whose value this build cannot honour (another exporter,
// the grpc protocol).
func Enabled(getenv func(string) string) (bool, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false, nil
	}
	switch e := getenv("OTEL_TRACES_EXPORTER"); e {
	case "", "otlp":
	case "none":
		return false, nil
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: %w (otlp or none)", e, ErrUnsupported)
	}
	if getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		return false, nil
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		switch p := getenv(name); p {
		case "", "http/protobuf":
		default:
			return false, fmt.Errorf("%s=%s: %w (http/protobuf)", name, p, ErrUnsupported)
		}
	}
	return true, nil
}

// Provider owns the SDK's tracer provider and its OTLP exporter.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// Start builds the OTLP/HTTP exporter, configured by the OTEL_EXPORTER_OTLP_*
// variables, the resource (service.name "ordersync" and version, overridden by
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES) and the sampler
// (OTEL_TRACES_SAMPLER, parent-based always-on by default). Call it only when
// Enabled says so. Nothing is sent until a span ends.
func Start(ctx context.Context, version string) (*Provider, error) {
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("ordersync"), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	return &Provider{tp: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))}, nil
}

// Tracer returns the Tracer that records events through p.
func (p *Provider) Tracer() *Tracer { return New(p.tp) }

// Shutdown exports the spans still queued and stops the exporter; ctx bounds it.
func (p *Provider) Shutdown(ctx context.Context) error {
	if err := p.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("trace provider shutdown: %w", err)
	}
	return nil
}

// Tracer starts event traces. Safe for concurrent use.
type Tracer struct {
	t    trace.Tracer
	prop propagation.TraceContext
}

// New returns a Tracer recording through tp.
func New(tp trace.TracerProvider) *Tracer {
	return &Tracer{t: tp.Tracer("github.com/ordersync/ordersync/internal/tracing")}
}

// StartEvent starts the span of the event in msg, "process <topic>", as a
// child of the record's traceparent header when it has a valid one.
func (t *Tracer) StartEvent(msg kafka.Message) *Event {
	ctx := t.prop.Extract(context.Background(), headerCarrier(msg.Headers))
	ctx, span := t.t.Start(ctx, "process "+msg.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemKafka,
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingDestinationName(msg.Topic),
			semconv.MessagingDestinationPartitionID(strconv.Itoa(msg.Partition)),
			semconv.MessagingKafkaOffset(int(msg.Offset)),
		))
	return &Event{t: t.t, ctx: ctx, span: span}
}

// Event is the trace of one event; its methods add the child spans. Used by
// one goroutine at a time.
type Event struct {
	t        trace.Tracer
	ctx      context.Context // holds span, the parent of the children
	span     trace.Span
	attempts int // upload attempts so far
}

// Mapped records the mapping that started at start and ends now.
func (e *Event) Mapped(start time.Time, res mapper.Result, err error) {
	_, s := e.t.Start(e.ctx, "map", trace.WithTimestamp(start))
	eventID, orderNo := res.EventID, res.OrderNo
	var ie *mapper.InvalidEventError
	switch {
	case errors.As(err, &ie):
		eventID, orderNo = ie.EventID, ie.OrderNo
		s.SetAttributes(attribute.Int("ordersync.violations", len(ie.Violations)))
		if len(ie.Violations) > 0 {
			s.SetAttributes(attribute.String("ordersync.error.field", ie.Violations[0].Field))
		}
		s.SetStatus(codes.Error, "invalid event")
	case err != nil:
		s.SetStatus(codes.Error, "invalid event")
	case res.Skipped:
		s.SetAttributes(attribute.Bool("ordersync.skipped", true))
	default:
		s.SetAttributes(attribute.String("ordersync.status", res.Status))
	}
	if eventID != "" {
		e.span.SetAttributes(attribute.String("ordersync.event_id", eventID))
	}
	if orderNo != "" {
		e.span.SetAttributes(attribute.String("ordersync.order_no", orderNo))
	}
	s.End()
}

// Uploaded records the upload, all its attempts, that started at start and
// ends now with out.
func (e *Event) Uploaded(start time.Time, out uploader.Outcome) {
	_, s := e.t.Start(e.ctx, "upload", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start),
		trace.WithAttributes(
			attribute.String("ordersync.upload.result", out.Class.String()),
			attribute.Int("ordersync.upload.attempts", out.Attempts),
		))
	if out.HTTPStatus != 0 {
		s.SetAttributes(semconv.HTTPResponseStatusCode(out.HTTPStatus))
	}
	if out.Code != "" {
		s.SetAttributes(attribute.String("ordersync.wechatpay.code", out.Code))
	}
	if out.RequestID != "" {
		s.SetAttributes(attribute.String("ordersync.request_id", out.RequestID))
	}
	if out.Class != uploader.Delivered {
		s.SetStatus(codes.Error, out.Class.String())
	}
	s.End()
}

// Attempted records one upload attempt, as told by the uploader while the
// upload runs: "upload attempt" with its number within the event, result,
// HTTP status, WeChat Pay code and Request-ID.
func (e *Event) Attempted(a uploader.Attempt) {
	e.attempts++
	_, s := e.t.Start(e.ctx, "upload attempt", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(a.Start),
		trace.WithAttributes(
			attribute.Int("ordersync.upload.attempt", e.attempts),
			attribute.String("ordersync.upload.result", a.Result),
		))
	if a.HTTPStatus != 0 {
		s.SetAttributes(semconv.HTTPResponseStatusCode(a.HTTPStatus))
	}
	if a.Code != "" {
		s.SetAttributes(attribute.String("ordersync.wechatpay.code", a.Code))
	}
	if a.RequestID != "" {
		s.SetAttributes(attribute.String("ordersync.request_id", a.RequestID))
	}
	if a.Result != "delivered" {
		s.SetStatus(codes.Error, a.Result)
	}
	s.End(trace.WithTimestamp(a.End))
}

// DeadLetterWritten records one dead-letter write of class that started at
// start and ends now with err.
func (e *Event) DeadLetterWritten(start time.Time, class string, err error) {
	_, s := e.t.Start(e.ctx, "dead-letter write", trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("ordersync.error.class", class)))
	if err != nil {
		s.SetStatus(codes.Error, "dead-letter write failed")
	}
	s.End()
}

// End ends the event's span; finished false marks it left for redelivery.
func (e *Event) End(finished bool) {
	if !finished {
		e.span.SetAttributes(attribute.Bool("ordersync.unfinished", true))
	}
	e.span.End()
}

// headerCarrier reads the propagation headers of a Kafka record.
type headerCarrier []kafka.Header

func (h headerCarrier) Get(key string) string {
	for _, kh := range h {
		if strings.EqualFold(kh.Key, key) {
			return string(kh.Value)
		}
	}
	return ""
}

func (h headerCarrier) Keys() []string {
	keys := make([]string, len(h))
	for i, kh := range h {
		keys[i] = kh.Key
	}
	return keys
}

// Set is never used: the worker only reads propagation headers.
func (h headerCarrier) Set(string, string) {}
