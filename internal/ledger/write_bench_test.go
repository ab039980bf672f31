package ledger

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkWrite writes b.N ledger records from many goroutines at once, as
// the worker does (each delivered upload writes its record and waits for
// the acknowledgement), to a 6-partition ledger on an in-process broker.
// Besides allocations per write (the broker's own included) it reports the
// mean and 99th percentile time a Write waited, which a delivered event
// spends holding its in-flight slot.
func BenchmarkWrite(b *testing.B) {
	for _, writers := range []int{16, 256} {
		b.Run(fmt.Sprintf("writers_%d", writers), func(b *testing.B) {
			c := newCluster(b, map[string]int32{"orders": 6})
			if _, err := EnsureTopic(c.ctx, c.tr, c.brokers, "orders.ledger", "orders", 72*time.Hour); err != nil {
				b.Fatal(err)
			}
			l := newLedger(b, c, nil)
			recs := make([]Record, 4096)
			for i := range recs {
				recs[i] = rec(fmt.Sprintf("2026112612%08d", i), StatusPaySuccess, t0, fmt.Sprint(i))
			}
			waits := make([][]time.Duration, writers)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for g := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						start := time.Now()
						if err := l.Write(c.ctx, i%6, recs[i%len(recs)]); err != nil {
							b.Error(err)
							return
						}
						waits[g] = append(waits[g], time.Since(start))
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			all := slices.Concat(waits...)
			slices.Sort(all)
			var sum time.Duration
			for _, d := range all {
				sum += d
			}
			if len(all) > 0 {
				b.ReportMetric(float64(sum.Microseconds())/float64(len(all)), "wait-µs/write")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-wait-µs")
			}
		})
	}
}
