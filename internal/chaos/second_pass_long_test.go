//go:build chaos

package chaos

import (
	"testing"
	"time"
)

// The second pass's scenarios in the long tier (second_pass_test.go).

func TestSourceTopicRecreatedLong(t *testing.T) { recreatedTopic(t, 2000, longTimeout) }

func TestRetentionLossLong(t *testing.T) { retentionLoss(t, 1500, longTimeout) }

// The worker has never joined: /healthz fails once it has been out of its
// group for 2 min (the bound with the suite's timeouts, cmd/worker); one
// more minute is slack for a busy machine.
func TestSilentBrokerLong(t *testing.T) { silentBrokerRun(t, 3*time.Minute) }

func TestSilentBrokerDLQTimeoutLong(t *testing.T) { silentBrokerDLQ(t) }

func TestDeadLetterTopicDeletedLong(t *testing.T) { dlqDeleted(t, 1500, longTimeout) }

// Keep-alive connections end at the 60 s IdleTimeout, the others as in
// the short tier; 3 min is slack, not a measurement.
func TestIdleConnectionsClosedLong(t *testing.T) { idleConnections(t, 200, true, 3*time.Minute) }

func TestOneFailingOrderLong(t *testing.T) { oneFailingOrder(t, 1500, longTimeout) }

func TestSkewedResponseTimestampLong(t *testing.T) { skewedTimestamp(t, 2000, longTimeout) }
