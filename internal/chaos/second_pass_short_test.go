//go:build !chaos

package chaos

import "testing"

// The second pass's scenarios in the short tier (second_pass_test.go).

func TestSourceTopicRecreatedShort(t *testing.T) { recreatedTopic(t, 200, shortTimeout) }

func TestRetentionLossShort(t *testing.T) { retentionLoss(t, 150, shortTimeout) }

func TestSilentBrokerSIGTERMShort(t *testing.T) { silentBrokerRun(t, 0) }

func TestSilentBrokerDLQTimeout(t *testing.T) { silentBrokerDLQ(t) }

func TestDeadLetterTopicDeletedShort(t *testing.T) { dlqDeleted(t, 150, shortTimeout) }

func TestWrongKafkaPassword(t *testing.T) { wrongPassword(t) }
