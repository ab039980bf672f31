package replay_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/replay"
)

// TestRunInterruptedStopsReading cancels the run (SIGTERM) while its first
// batch of 100 is at the broker, with more records already fetched: the run
// finishes that batch and reads no further, and a rerun republishes the
// rest, each record once.
func TestRunInterruptedStopsReading(t *testing.T) {
	e := newEnv(t)
	const n = 250
	records := make([]dl, n)
	for i := range records {
		no := fmt.Sprintf("S%03d", i)
		records[i] = dl{key: no, orderNo: no, class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00.000Z"}
	}
	e.seed(records...)
	ctx, cancel := context.WithCancel(e.ctx())
	defer cancel()
	e.cluster.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if produceTo(req, sourceTopic) {
			cancel()
			e.cluster.DropControl()
		}
		return nil, nil, false
	})
	sum, _ := replay.Run(ctx, e.opts(nil), &bytes.Buffer{})
	if sum.Republished == 0 || sum.Republished > 100 {
		t.Errorf("interrupted during its first batch: %s; want that batch (at most 100) republished and nothing more read", sum)
	}
	again, _ := e.run(nil)
	if again.Republished+again.AlreadyReplayed != n || again.AlreadyReplayed != sum.Republished {
		t.Errorf("rerun: %s; want the %d the interrupted run republished already replayed and the rest republished", again, sum.Republished)
	}
	if got := e.count(sourceTopic); got != n {
		t.Errorf("source topic holds %d records, want %d (each once)", got, n)
	}
}

// TestRunUnansweredRepublishNotRetried holds the first republish request
// at the broker past the request timeout, then lets it through: its records
// may land, so the run must not send them again (they would be there
// twice) but list them as outcome unknown.
func TestRunUnansweredRepublishNotRetried(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	release := make(chan struct{})
	var held atomic.Bool
	e.cluster.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if produceTo(req, sourceTopic) && held.CompareAndSwap(false, true) {
			e.cluster.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	var out bytes.Buffer
	sum, _ := replay.Run(e.ctx(), e.opts(func(o *replay.Options) { o.RequestTimeout = 300 * time.Millisecond }), &out)
	close(release)
	if sum.OutcomeUnknown == 0 || sum.Republished+sum.OutcomeUnknown != len(mixed) {
		t.Errorf("one republish unanswered: %s; want its records listed as outcome unknown, the others republished", sum)
	}
	if n := strings.Count(out.String(), "outcome-unknown "); n != sum.OutcomeUnknown {
		t.Errorf("%d outcome-unknown lines, summary counts %d", n, sum.OutcomeUnknown)
	}
}
