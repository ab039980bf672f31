package ledger

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

var benchOrders = flag.Int("ledger-orders", 200_000, "orders in the ledger BenchmarkRestore reads")

// BenchmarkRestore restores one ledger partition of -ledger-orders records
// from an in-process broker and reports records/s and the heap the state
// holds per order.
func BenchmarkRestore(b *testing.B) {
	c := newCluster(b, map[string]int32{"orders": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a 1 M-record ledger outlasts c.ctx
	defer cancel()
	c.ctx = ctx
	if _, err := EnsureTopic(c.ctx, c.tr, c.brokers, "orders.ledger", "orders", 72*time.Hour); err != nil {
		b.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(c.brokers...), Topic: "orders.ledger",
		BatchSize: 1000, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll, Transport: c.tr}
	msgs := make([]kafka.Message, 0, 1000)
	for i := range *benchOrders {
		r := rec(fmt.Sprintf("2026112612%08d", i), StatusPaySuccess, t0, fmt.Sprint(i))
		v, err := r.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(Key(r.SubMchID, r.OutOrderNo)), Value: v})
		if len(msgs) == cap(msgs) || i == *benchOrders-1 {
			if err := w.WriteMessages(c.ctx, msgs...); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		l, err := New(Config{Brokers: c.brokers, Topic: "orders.ledger", Retention: 72 * time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		n, err := l.Restore(c.ctx, 0)
		d := time.Since(start)
		if err != nil || n != *benchOrders {
			b.Fatalf("restored %d, err %v", n, err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(n)/d.Seconds(), "records/s")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-bytes/order")
		if l.state.Len() != n {
			b.Fatalf("state holds %d, want %d", l.state.Len(), n)
		}
		_ = l.Close()
	}
}
