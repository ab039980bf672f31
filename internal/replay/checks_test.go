package replay_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/replay"
)

// TestRunRefusesLedgerThatExpires refuses a replay ledger that retention
// empties (cleanup.policy=delete): its entries would expire and the records
// they list be republished again. Dry runs check it too.
func TestRunRefusesLedgerThatExpires(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	ledgerTopic := dlqTopic + replay.LedgerSuffix
	if err := e.cluster.CreateTopic(ledgerTopic, 1, map[string]string{"cleanup.policy": "delete"}); err != nil {
		t.Fatalf("create ledger topic: %v", err)
	}
	for _, dry := range []bool{false, true} {
		var out bytes.Buffer
		sum, err := replay.Run(e.ctx(), e.opts(func(o *replay.Options) { o.DryRun = dry }), &out)
		if !errors.Is(err, replay.ErrLedgerNotCompacted) || !strings.Contains(err.Error(), ledgerTopic) {
			t.Errorf("dry run %v: error %v, want ErrLedgerNotCompacted naming %s", dry, err, ledgerTopic)
		}
		if sum.Republished != 0 || out.Len() != 0 {
			t.Errorf("dry run %v: %s, output %q; want nothing done", dry, sum, out.String())
		}
	}
	if n := e.count(sourceTopic); n != 0 {
		t.Errorf("source topic holds %d records, want none", n)
	}
}

// TestRunMissingDestination refuses --to naming a topic that does not
// exist, in a dry run too, and lists a record whose original topic is gone
// as unroutable instead of "would republish".
func TestRunMissingDestination(t *testing.T) {
	e := newEnv(t)
	e.seed(mixed...)
	for _, dry := range []bool{true, false} {
		var out bytes.Buffer
		sum, err := replay.Run(e.ctx(), e.opts(func(o *replay.Options) { o.To = "orders.typo"; o.DryRun = dry }), &out)
		if !errors.Is(err, replay.ErrNoDestination) || !strings.Contains(err.Error(), "orders.typo") {
			t.Errorf("dry run %v: error %v, want ErrNoDestination naming orders.typo", dry, err)
		}
		if sum.Republished != 0 || out.Len() != 0 {
			t.Errorf("dry run %v: %s, output %q; want nothing listed", dry, sum, out.String())
		}
	}

	e.seed(dl{key: "G1", orderNo: "G1", class: dlq.ClassRejected, failedAt: "2026-11-26T01:00:00Z", origin: "orders.gone"})
	sum, out := e.run(func(o *replay.Options) { o.DryRun = true; o.Order = "G1" })
	if sum.Republished != 0 || sum.Unroutable != 1 || !strings.Contains(out, "unroutable ") || !strings.Contains(out, "orders.gone does not exist") {
		t.Errorf("dry run to a missing original topic: %s, output %q; want it unroutable, naming the topic", sum, out)
	}
}
