package replay_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/replay"
)

// produceTo reports whether req is a produce request to topic.
func produceTo(req kmsg.Request, topic string) bool {
	pr, ok := req.(*kmsg.ProduceRequest)
	if !ok {
		return false
	}
	for _, t := range pr.Topics {
		if t.Topic == topic {
			return true
		}
	}
	return false
}

// TestRunInterruptedFinishesTheBatch cancels the run (SIGTERM) while the
// broker holds the republish of its batch: the batch and its ledger write
// still finish, the output says so, and a rerun republishes nothing.
func TestRunInterruptedFinishesTheBatch(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	ctx, cancel := context.WithCancel(e.ctx())
	defer cancel()
	e.cluster.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if produceTo(req, sourceTopic) {
			cancel() // the signal arrives while the write is in flight
			e.cluster.DropControl()
		}
		return nil, nil, false
	})
	var out bytes.Buffer
	sum, err := replay.Run(ctx, e.opts(nil), &out)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted Run error %v, want none or one wrapping context.Canceled", err)
	}
	if sum.Republished != len(mixed) || strings.Count(out.String(), "republished ") != len(mixed) {
		t.Errorf("interrupted run: %s, output %q; want the batch of %d republished and listed", sum, out.String(), len(mixed))
	}
	again, _ := e.run(nil)
	if again.Republished != 0 || again.AlreadyReplayed != len(mixed) {
		t.Errorf("rerun: %s, want nothing republished, %d already replayed", again, len(mixed))
	}
	if n := e.count(sourceTopic); n != int64(len(mixed)) {
		t.Errorf("source topic holds %d records, want %d (each once)", n, len(mixed))
	}
}

// TestRunOutcomeUnknown has the broker take the republish and never answer:
// the records are listed as outcome unknown, not as left alone, and the
// ledger does not claim them.
func TestRunOutcomeUnknown(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	e.cluster.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if !produceTo(req, sourceTopic) {
			return nil, nil, false
		}
		e.cluster.KeepControl()
		return nil, nil, true // no answer
	})
	var out bytes.Buffer
	sum, err := replay.Run(e.ctx(), e.opts(func(o *replay.Options) { o.RequestTimeout = 200 * time.Millisecond }), &out)
	if err == nil {
		t.Errorf("Run without an answer succeeded: %s", sum)
	}
	if sum.OutcomeUnknown != len(mixed) || sum.Republished != 0 {
		t.Errorf("summary %s, want %d of unknown outcome", sum, len(mixed))
	}
	if !strings.Contains(sum.String(), "outcome unknown 4") || strings.Count(out.String(), "outcome-unknown ") != len(mixed) {
		t.Errorf("summary %q, output %q: want the records listed as outcome unknown", sum, out.String())
	}
	if n := e.count(dlqTopic + replay.LedgerSuffix); n > 0 {
		t.Errorf("ledger claims %d records whose outcome is unknown", n)
	}
}
