//go:build chaos

package chaos

import (
	"testing"
	"time"
)

// The long tier runs with `make chaos` (go test -tags chaos): the issue's
// full-size scenarios, with the worker built with the race detector.

var workerBuildFlags = []string{"-race"}

const longTimeout = 15 * time.Minute

// 6,000 orders make about 20,000 events.
func TestCrashesLong(t *testing.T) { killWorker(t, 7600, 10, longTimeout) }

func TestBrokerRestartLong(t *testing.T) {
	restartBroker(t, 2400, 100, []time.Duration{5 * time.Second, 30 * time.Second}, longTimeout)
}

func TestRebalanceLong(t *testing.T) { rebalance(t, 3000, 100, longTimeout) }

func TestDeadLetterTopicRefusesLong(t *testing.T) {
	dlqRefuses(t, 2000, 20*time.Second, longTimeout)
}

func TestAPIFaultsLong(t *testing.T) {
	apiFaults(t, 3000, 60, 60*time.Second, 10*time.Second, longTimeout)
}

func TestSIGTERMLong(t *testing.T) { sigterm(t, 3000, longTimeout) }

func TestMetricsAndHealthLong(t *testing.T) { metricsAndHealth(t, 600, longTimeout) }

func TestReplayRejectedLong(t *testing.T) { replayRejected(t, 600, longTimeout) }

func TestQuotaSharedLong(t *testing.T) { quotaShared(t, 3000, longTimeout) }

func TestRegistryAccountsLong(t *testing.T) { registryAccounts(t, 1200, longTimeout) }
