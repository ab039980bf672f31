package main

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// TestReplayBadTopicsExitUsage: a replay ledger that is not compacted and a
// --to topic that does not exist are set-up errors: exit 2, one line naming
// the flag, nothing listed — for a dry run too.
func TestReplayBadTopicsExitUsage(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, "orders", "orders.dlq"))
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	cfg := replayConfig{Brokers: c.ListenAddrs(), DLQTopic: "orders.dlq", Transport: tr}
	// Before the first request: the transport caches metadata.
	if err := c.CreateTopic("orders.dlq.replayed", 1, map[string]string{"cleanup.policy": "delete"}); err != nil {
		t.Fatalf("create ledger topic: %v", err)
	}

	for _, args := range [][]string{{"--to", "orders.typo"}, {"--to", "orders.typo", "--dry-run"}} {
		code, out, errOut := runReplayArgs(t, cfg, args...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "worker replay: --to: orders.typo: destination topic does not exist") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 naming --to", args, code, out, errOut)
		}
	}
	for _, args := range [][]string{nil, {"--dry-run"}} {
		code, out, errOut := runReplayArgs(t, cfg, args...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "worker replay: --replayed-topic: orders.dlq.replayed (cleanup.policy=delete): ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 naming --replayed-topic", args, code, out, errOut)
		}
	}
}

// TestReplaySecondSignalEndsAtOnce: once the first signal cancels a replay
// (which then finishes its current batch), the default signal handling is
// restored, so that a second signal ends the process at once.
func TestReplaySecondSignalEndsAtOnce(t *testing.T) {
	clearEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var restored atomic.Bool
	var stdout, stderr bytes.Buffer
	code := dispatch(ctx, func() { restored.Store(true) }, []string{"replay", "--brokers", "127.0.0.1:1", "--dlq-topic", "orders.dlq"},
		strings.NewReader(""), &stdout, &stderr)
	if code != exitFailed {
		t.Errorf("cancelled replay: exit %d (stderr %q), want 1", code, stderr.String())
	}
	// AfterFunc restores it from its own goroutine.
	kafkatest.WaitFor(t, "the default signal handling restored", restored.Load)
}
