package main

import (
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestReplayBadTopicsExitUsage: a replay ledger that is not compacted and a
// --to topic that does not exist are set-up errors: exit 2, one line naming
// the flag, nothing listed — for a dry run too.
func TestReplayBadTopicsExitUsage(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders", "orders.dlq"))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	defer c.Close()
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
