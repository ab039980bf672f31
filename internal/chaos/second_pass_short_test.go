//go:build !chaos

package chaos

import (
	"testing"
	"time"
)

// The second pass's scenarios in the short tier (second_pass_test.go).

func TestSourceTopicRecreatedShort(t *testing.T) { recreatedTopic(t, 200, shortTimeout) }

func TestSourceTopicRecreatedLargerShort(t *testing.T) { recreatedTopicLarger(t, 100, shortTimeout) }

func TestRetentionLossShort(t *testing.T) { retentionLoss(t, 150, shortTimeout) }

func TestSilentBrokerSIGTERMShort(t *testing.T) { silentBrokerRun(t, 0) }

func TestSilentBrokerDLQTimeout(t *testing.T) { silentBrokerDLQ(t) }

func TestDeadLetterTopicDeletedShort(t *testing.T) { dlqDeleted(t, 150, shortTimeout) }

func TestWrongKafkaPassword(t *testing.T) { wrongPassword(t) }

// Connections that send nothing end at the 5 s ReadHeaderTimeout, those
// whose body never comes at the 10 s ReadTimeout; 60 s is slack for a busy
// machine, not a measurement.
func TestIdleConnectionsClosedShort(t *testing.T) { idleConnections(t, 250, false, time.Minute) }

func TestOneFailingOrderShort(t *testing.T) { oneFailingOrder(t, 150, shortTimeout) }

func TestSkewedResponseTimestampShort(t *testing.T) { skewedTimestamp(t, 200, shortTimeout) }
