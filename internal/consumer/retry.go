package consumer

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// deadLetterBackoff spaces the attempts of one dead-letter write. They go on
// until the event's context ends: nothing past the event may be committed
// before its record is written.
func deadLetterBackoff() backoff.BackOff { return untilCancelled(200*time.Millisecond, 5*time.Second) }

// ledgerBackoff spaces the attempts of one ledger write or restore, which
// likewise go on until the context ends.
func ledgerBackoff() backoff.BackOff { return untilCancelled(200*time.Millisecond, 5*time.Second) }

// untilCancelled is an exponential backoff from initial to at most max that
// never gives up by itself.
func untilCancelled(initial, max time.Duration) backoff.BackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(initial),
		backoff.WithMaxInterval(max),
		backoff.WithMaxElapsedTime(0),
	)
}

// retryUntilDone runs op until it returns nil (true) or ctx is done
// (false), waiting the intervals of a backoff made by newBackOff between
// attempts. failed is called with each error that will be retried and the
// number of the attempt that returned it; not once ctx is done. The first
// attempt runs before anything to retry with is made: it usually succeeds.
func retryUntilDone(ctx context.Context, newBackOff func() backoff.BackOff, op func() error, failed func(err error, attempt int)) bool {
	first := op()
	if first == nil {
		return true
	}
	attempt := 1
	err := backoff.RetryNotify(func() error {
		if err := first; err != nil { // the attempt already made, as the backoff's first
			first = nil
			return err
		}
		attempt++
		return op()
	}, backoff.WithContext(newBackOff(), ctx), func(err error, _ time.Duration) {
		failed(err, attempt)
	})
	return err == nil
}
