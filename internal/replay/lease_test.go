package replay_test

import (
	"bytes"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/replay"
)

// TestRunSecondConcurrentReplayRefused holds the first run's republish at
// the broker while a second run on the same ledger starts: the second is
// refused naming the lease group, the first finishes, and every record is
// republished once.
func TestRunSecondConcurrentReplayRefused(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	secondDone := make(chan struct{})
	reached := make(chan struct{})
	var held atomic.Bool
	e.cluster.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if produceTo(req, sourceTopic) {
			if held.CompareAndSwap(false, true) {
				close(reached)
				e.cluster.SleepControl(func() { <-secondDone })
			}
		}
		return nil, nil, false
	})

	type result struct {
		sum replay.Summary
		err error
	}
	first := make(chan result, 1)
	go func() {
		sum, err := replay.Run(e.ctx(), e.opts(nil), &bytes.Buffer{})
		first <- result{sum, err}
	}()
	<-reached // the first run is writing its batch

	var out bytes.Buffer
	sum, err := replay.Run(e.ctx(), e.opts(nil), &out)
	close(secondDone)
	if !errors.Is(err, replay.ErrLeaseHeld) || !strings.Contains(err.Error(), replay.LeaseGroup(dlqTopic+replay.LedgerSuffix)) {
		t.Errorf("second run: error %v, want ErrLeaseHeld naming the lease group", err)
	}
	if sum.Republished != 0 || out.Len() != 0 {
		t.Errorf("second run: %s, output %q; want nothing done", sum, out.String())
	}
	r := <-first
	if r.err != nil || r.sum.Republished != len(mixed) {
		t.Errorf("first run: %s, %v; want all %d republished", r.sum, r.err, len(mixed))
	}
	if n := e.count(sourceTopic); n != int64(len(mixed)) {
		t.Errorf("source topic holds %d records, want %d (each once)", n, len(mixed))
	}
	third, _ := e.run(nil)
	if third.AlreadyReplayed != len(mixed) {
		t.Errorf("run after both: %s, want all already replayed (the lease was released)", third)
	}
}
