//go:build !chaos

package chaos

import (
	"testing"
	"time"
)

// The short tier runs in `make test` on every CI run: the same scenarios
// and invariants as the long tier (long_test.go, `make chaos`), smaller.

// workerBuildFlags: the short tier runs the worker as built for production.
var workerBuildFlags []string

const shortTimeout = 90 * time.Second

func TestCrashesShort(t *testing.T) { killWorker(t, 600, 2, shortTimeout) }

func TestBrokerRestartShort(t *testing.T) {
	restartBroker(t, 300, 150, []time.Duration{2 * time.Second}, shortTimeout)
}

func TestRebalanceShort(t *testing.T) { rebalance(t, 300, 100, shortTimeout) }

func TestDeadLetterTopicRefusesShort(t *testing.T) { dlqRefuses(t, 300, 3*time.Second, shortTimeout) }

func TestAPIFaultsShort(t *testing.T) {
	apiFaults(t, 250, 60, 5*time.Second, 1500*time.Millisecond, shortTimeout)
}

func TestSIGTERMShort(t *testing.T) { sigterm(t, 300, shortTimeout) }

func TestMetricsAndHealth(t *testing.T) { metricsAndHealth(t, 120, shortTimeout) }

func TestReplayRejected(t *testing.T) { replayRejected(t, 80, shortTimeout) }

func TestRegistryAccountsShort(t *testing.T) { registryAccounts(t, 120, shortTimeout) }
