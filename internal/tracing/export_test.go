package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestStartExportsOverOTLPHTTP: with OTEL_EXPORTER_OTLP_ENDPOINT set, Start's provider sends the
// event's spans to <endpoint>/v1/traces, named by OTEL_SERVICE_NAME, by Shutdown at the latest.
func TestStartExportsOverOTLPHTTP(t *testing.T) {
	var mu sync.Mutex
	var got []*v1.ExportTraceServiceRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &v1.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "ordersync-test")

	p, err := Start(context.Background(), "v0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	ev := p.Tracer().StartEvent(kafka.Message{Topic: "orders", Partition: 0, Offset: 7})
	ev.End(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	var names []string
	service := ""
	for _, req := range got {
		for _, rs := range req.GetResourceSpans() {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					names = append(names, s.GetName())
				}
			}
		}
	}
	if len(names) != 1 || names[0] != "process orders" || service != "ordersync-test" {
		t.Fatalf("exported spans %v of service %q, want [process orders] of ordersync-test", names, service)
	}
}
