package ledger

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// queued returns how many writes wait on source partition source's writer.
func queued(l *Ledger, source int) int {
	l.wmu.Lock()
	pw := l.writers[source]
	l.wmu.Unlock()
	if pw == nil {
		return 0
	}
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return len(pw.queue)
}

// TestWritesQueuedBehindAProduceShareTheNext: writes that arrive while a
// produce request of their partition is outstanding, however far apart,
// go together in the next request, and every one is acknowledged and
// guarded.
func TestWritesQueuedBehindAProduceShareTheNext(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 1})
	if _, err := EnsureTopic(c.ctx, c.tr, c.brokers, "orders.ledger", "orders", 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	l := newLedger(t, c, nil)
	var produces atomic.Int64
	held, release := make(chan struct{}), make(chan struct{})
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if produces.Add(1) == 1 {
			close(held)
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	const later = 20
	var wg sync.WaitGroup
	errs := make(chan error, later+1)
	write := func(order string) {
		defer wg.Done()
		errs <- l.Write(c.ctx, 0, rec(order, StatusPaySuccess, t0, "p"+order))
	}
	wg.Add(1)
	go write("FIRST")
	<-held
	for i := range later {
		wg.Add(1)
		go write(fmt.Sprintf("LATER-%02d", i))
		for queued(l, 0) < i+1 { // bounded by c.ctx through the writes' own errors
			select {
			case err := <-errs:
				t.Fatalf("a write returned while the first produce was held: %v", err)
			case <-time.After(time.Millisecond):
			}
		}
		time.Sleep(3 * time.Millisecond) // apart by more than kafka-go's 2 ms batch window
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := produces.Load(); n != 2 {
		t.Errorf("%d produce requests for 1 + %d writes, want 2", n, later)
	}
	for i := range later {
		order := fmt.Sprintf("LATER-%02d", i)
		if got := l.Check(Event{SubMchID: "1900000100", OutOrderNo: order, Status: StatusCreateDeal, ActionTime: t0}); got == "" {
			t.Errorf("%s acknowledged but not guarded", order)
		}
	}
}

// TestWriteAfterCloseFails: Close ends the writers; a later write fails
// instead of waiting.
func TestWriteAfterCloseFails(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 1})
	if _, err := EnsureTopic(c.ctx, c.tr, c.brokers, "orders.ledger", "orders", 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	l := newLedger(t, c, nil)
	if err := l.Write(c.ctx, 0, rec("A1", StatusPaySuccess, t0, "p")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(c.ctx, 0, rec("A2", StatusPaySuccess, t0, "p")); err == nil {
		t.Error("a write after Close succeeded")
	}
}
