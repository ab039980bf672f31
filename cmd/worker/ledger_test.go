package main

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestRunRefusesNonCompactingLedgerTopic starts run against a broker whose
// ledger topic deletes instead of compacting: it stops at once, exit 2,
// naming the setting.
func TestRunRefusesNonCompactingLedgerTopic(t *testing.T) {
	runEnv(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CreateTopic("orders.ledger", 1, map[string]string{"cleanup.policy": "delete"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORDERSYNC_BROKERS", c.ListenAddrs()[0])
	t.Setenv("ORDERSYNC_HTTP_ADDR", "127.0.0.1:0")
	code, _, stderr := dispatchArgs(t, "run")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != exitUsage || !strings.HasPrefix(last, "worker: invalid setting ORDERSYNC_LEDGER_TOPIC (--ledger-topic): orders.ledger has cleanup.policy=\"delete\"") {
		t.Errorf("exit %d, last stderr line %q; want exit 2 naming ORDERSYNC_LEDGER_TOPIC", code, last)
	}
}

// TestKafkaCommandsBindEverySettingOnce: the commands that bind every
// setting as a flag define no flag of their own under a setting's name
// (ORDERSYNC_LEDGER_TOPIC is --ledger-topic; the replay ledger's is
// --replayed-topic).
func TestKafkaCommandsBindEverySettingOnce(t *testing.T) {
	clearEnv(t)
	for _, cmd := range []string{"replay", "dlq", "ledger", "report"} {
		code, _, stderr := dispatchArgs(t, cmd, "-h")
		if code != exitOK || !strings.Contains(stderr, "-ledger-topic") {
			t.Errorf("%s -h: exit %d, %q", cmd, code, stderr)
		}
	}
}
