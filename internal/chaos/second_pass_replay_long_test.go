//go:build chaos

package chaos

import "testing"

// Finding 9's scenarios in the long tier (second_pass_replay_test.go).

// 2,400 orders make about 6,000 dead letters; eight SIGTERMs, as many as
// the finding's trials.
func TestReplayInterruptedLong(t *testing.T) { replayInterrupted(t, 2400, 8) }

func TestReplayConcurrentLong(t *testing.T) { replayConcurrent(t, 2400) }

func TestReplayLedgerAndDestinationChecksLong(t *testing.T) { replayChecks(t) }

func TestReplayUnansweredLong(t *testing.T) { replayUnanswered(t, 2400) }
