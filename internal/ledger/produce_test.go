package ledger

import (
	"fmt"
	"strings"
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
	var later []Record
	for i := range 20 {
		later = append(later, rec(fmt.Sprintf("LATER-%02d", i), StatusPaySuccess, t0, "p"))
	}
	if n := producesBehindAHeldOne(t, later); n != 2 {
		t.Errorf("%d produce requests for 1 + %d writes, want 2", n, len(later))
	}
}

// TestQueuedWritesSplitAtMaxBatchBytes: queued writes whose values exceed
// maxBatchBytes together go in more than one request.
func TestQueuedWritesSplitAtMaxBatchBytes(t *testing.T) {
	big := strings.Repeat("e", maxBatchBytes/2-1000) // two fit a request, three do not
	var later []Record
	for i := range 6 {
		r := rec(fmt.Sprintf("BIG-%02d", i), StatusPaySuccess, t0, "p")
		r.EventID = big
		later = append(later, r)
	}
	if n := producesBehindAHeldOne(t, later); n != 1+3 {
		t.Errorf("%d produce requests for 1 + 6 writes of %d KiB, want 4", n, len(big)>>10)
	}
}

// producesBehindAHeldOne writes one record, holds its produce request
// while later are written one after another, 3 ms apart (more than kafka-go
// Writer's 2 ms batch window), then lets it go and returns the produce
// requests the broker saw once all are acknowledged and guarded.
func producesBehindAHeldOne(t *testing.T, later []Record) int64 {
	t.Helper()
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
	var wg sync.WaitGroup
	errs := make(chan error, len(later)+1)
	write := func(r Record) {
		defer wg.Done()
		errs <- l.Write(c.ctx, 0, r)
	}
	wg.Add(1)
	go write(rec("FIRST", StatusPaySuccess, t0, "p"))
	<-held
	for i, r := range later {
		wg.Add(1)
		go write(r)
		for queued(l, 0) < i+1 { // bounded by c.ctx through the writes' own errors
			select {
			case err := <-errs:
				t.Fatalf("a write returned while the first produce was held: %v", err)
			case <-time.After(time.Millisecond):
			}
		}
		time.Sleep(3 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range later {
		if got := l.Check(Event{SubMchID: r.SubMchID, OutOrderNo: r.OutOrderNo, Status: StatusCreateDeal, ActionTime: t0}); got == "" {
			t.Errorf("%s acknowledged but not guarded", r.OutOrderNo)
		}
	}
	return produces.Load()
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
