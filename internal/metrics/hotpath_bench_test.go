package metrics

import (
	"testing"
	"time"
)

// BenchmarkDeliveredEvent is what the metrics of one delivered event cost:
// consumed, one attempt answered 204 with its duration, the signature's
// CPU, delivered and the end-to-end latency.
//
//	go test -run '^$' -bench DeliveredEvent -benchmem ./internal/metrics/
func BenchmarkDeliveredEvent(b *testing.B) {
	m := New("bench")
	b.ReportAllocs()
	for b.Loop() {
		m.EventConsumed("orders")
		m.UploadAttempt("delivered", 204, 3*time.Millisecond)
		m.SignCPU(700 * time.Microsecond)
		m.EventDone("delivered", "")
		m.EndToEnd(time.Second)
	}
}
