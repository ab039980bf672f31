//go:build !chaos

package chaos

import "testing"

// Finding 9's scenarios in the short tier (second_pass_replay_test.go).

// 800 orders make about 2,000 dead letters.
func TestReplayInterruptedShort(t *testing.T) { replayInterrupted(t, 800, 2) }

func TestReplayConcurrentShort(t *testing.T) { replayConcurrent(t, 800) }

func TestReplayLedgerAndDestinationChecks(t *testing.T) { replayChecks(t) }

func TestReplayUnansweredShort(t *testing.T) { replayUnanswered(t, 800) }
