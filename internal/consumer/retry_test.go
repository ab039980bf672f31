package consumer

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/cenkalti/backoff/v4"
)

func zeroBackoff() backoff.BackOff { return &backoff.ZeroBackOff{} }

func TestRetryUntilDoneRetriesUntilSuccess(t *testing.T) {
	calls := 0
	var failed []int
	ok := retryUntilDone(context.Background(), zeroBackoff, func() error {
		calls++
		if calls < 3 {
			return errors.New("refused")
		}
		return nil
	}, func(_ error, attempt int) { failed = append(failed, attempt) })
	if !ok || calls != 3 || !slices.Equal(failed, []int{1, 2}) {
		t.Fatalf("ok=%v calls=%d failed attempts=%v, want true, 3, [1 2]", ok, calls, failed)
	}
}

func TestRetryUntilDoneStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls, told := 0, 0
	ok := retryUntilDone(ctx, zeroBackoff, func() error {
		calls++
		if calls == 2 {
			cancel()
		}
		return errors.New("refused")
	}, func(error, int) { told++ })
	if ok || calls != 2 || told != 1 {
		t.Fatalf("ok=%v calls=%d told=%d, want false, 2, 1 (no retry and no report once ctx is done)", ok, calls, told)
	}
}

func TestRetryBackoffsNeverGiveUp(t *testing.T) {
	for name, newBackOff := range map[string]func() backoff.BackOff{"dead letter": deadLetterBackoff, "ledger": ledgerBackoff} {
		bo := newBackOff()
		for i := range 100 {
			if d := bo.NextBackOff(); d == backoff.Stop {
				t.Fatalf("%s backoff stopped after %d intervals", name, i)
			}
		}
	}
}

// An op that succeeds at once makes no backoff (nor anything else to
// retry with): a ledger write is retried this way for every delivered event.
func TestRetryUntilDoneFirstSuccessMakesNoBackoff(t *testing.T) {
	made := 0
	newBackOff := func() backoff.BackOff { made++; return zeroBackoff() }
	op := func() error { return nil }
	failed := func(error, int) { t.Error("failed called") }
	if !retryUntilDone(context.Background(), newBackOff, op, failed) || made != 0 {
		t.Fatalf("made %d backoffs for an op that succeeded at once, want 0", made)
	}
	if n := testing.AllocsPerRun(100, func() { retryUntilDone(context.Background(), newBackOff, op, failed) }); n != 0 {
		t.Errorf("a first-attempt success allocated %v times, want 0", n)
	}
}
