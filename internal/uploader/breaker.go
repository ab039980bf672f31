package uploader

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// breaker pauses every upload of an Uploader during an upstream outage or a
// deployment fault, so that a long outage does not turn into a flood of
// RetriesExhausted outcomes (README "How it works").
//
// It opens on a sign error (401, or a response timestamp out of range of the
// local clock), after threshold consecutive transient attempts across at
// least distinctToTrip uploads (delivered and rejected answers reset the
// count), or when an upload spends its whole retry budget while no attempt
// of any upload succeeded and the failures span distinctToTrip uploads:
// failures are then not proven to be that order's, so the upload pauses
// instead of being reported exhausted.
// While open, uploads wait and only one probe attempt is in flight at a
// time, spaced by a backoff from the retry InitialInterval capped at
// probeMax. A probe (or any attempt) that is delivered or rejected closes
// it and releases every waiting upload at once. Time spent waiting is not
// charged to any upload's MaxElapsed budget.
type breaker struct {
	threshold int
	now       func() time.Time
	observer  Observer

	mu          sync.Mutex
	open        bool
	reason      string
	consecutive int
	// failing holds the uploads with a transient failure in the current
	// run of consecutive ones, up to distinctToTrip of them.
	failing   map[uint64]struct{}
	successes uint64 // delivered or rejected attempts since creation
	probing   bool
	nextProbe time.Time
	probeBo   *backoff.ExponentialBackOff
	changed   chan struct{} // closed and replaced on every state change
}

func newBreaker(threshold int, initial, probeMax time.Duration, now func() time.Time, obs Observer) *breaker {
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(initial),
		backoff.WithMaxInterval(probeMax),
		backoff.WithMaxElapsedTime(0),
	)
	return &breaker{threshold: threshold, now: now, observer: obs, probeBo: bo, changed: make(chan struct{}),
		failing: map[uint64]struct{}{}}
}

// state returns whether the breaker is open and why.
func (b *breaker) state() (bool, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open, b.reason
}

func (b *breaker) signal() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// wait returns when the caller may send: the breaker is closed (probe
// false) or the caller holds the probe slot (probe true, it must call
// done). It returns ctx's error if ctx ends first.
func (b *breaker) wait(ctx context.Context) (probe bool, err error) {
	return b.waitFor(ctx, true)
}

// waitChance returns when a caller may send, without taking the probe slot:
// the breaker is closed or the probe slot is free and due.
func (b *breaker) waitChance(ctx context.Context) error {
	_, err := b.waitFor(ctx, false)
	return err
}

// tryProbe is wait without waiting: closed (false, false), the probe slot
// taken (true, true; the caller must call done) or open without a chance
// now (false, true).
func (b *breaker) tryProbe() (probe, open bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return false, false
	}
	if !b.probing && !b.now().Before(b.nextProbe) {
		b.probing = true
		return true, true
	}
	return false, true
}

func (b *breaker) waitFor(ctx context.Context, take bool) (probe bool, err error) {
	for {
		b.mu.Lock()
		if !b.open {
			b.mu.Unlock()
			return false, nil
		}
		now := b.now()
		if !b.probing && !now.Before(b.nextProbe) {
			b.probing = take
			b.mu.Unlock()
			return take, nil
		}
		ch := b.changed
		var t *time.Timer
		var timer <-chan time.Time
		if !b.probing {
			t = time.NewTimer(b.nextProbe.Sub(now))
			timer = t.C
		}
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-ch:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
		if err != nil {
			return false, err
		}
	}
}

// done reports an attempt's result; probe says whether it held the probe
// slot. A failed probe's Retry-After, when longer, spaces the next probe.
func (b *breaker) done(r attemptResult, probe bool) {
	k, cause := r.kind, r.err
	b.mu.Lock()
	defer b.mu.Unlock()
	wasOpen := b.open
	if probe {
		b.probing = false
	}
	switch k {
	case kindDelivered, kindRejected:
		b.consecutive = 0
		clear(b.failing)
		b.successes++
		if b.open {
			b.open, b.reason = false, ""
			b.notify()
		}
	case kindTransient:
		b.consecutive++
		if len(b.failing) < distinctToTrip {
			b.failing[r.upload] = struct{}{}
		}
		if !b.open && b.threshold > 0 && b.consecutive >= b.threshold && len(b.failing) >= min(distinctToTrip, b.threshold) {
			b.trip(fmt.Sprintf("upstream unavailable: %d consecutive transient failures, last: %v", b.consecutive, cause), r.retryAfter)
		} else if probe {
			b.nextProbe = b.now().Add(max(b.probeBo.NextBackOff(), r.retryAfter))
		}
	case kindSignError:
		if !b.open {
			b.trip(fmt.Sprintf("deployment fault (key, serial or clock): %v", cause), 0)
		} else if probe {
			b.nextProbe = b.now().Add(b.probeBo.NextBackOff())
		}
	case kindThrottled:
		// A 429 neither pauses nor resumes: a throttled probe only waits.
		if probe {
			b.nextProbe = b.now().Add(max(b.probeBo.NextBackOff(), r.retryAfter))
		}
	case kindCancelled:
		// A cancelled probe frees the slot for another waiter right away.
	}
	// Uploads wait only while the breaker is open: an attempt that finds it
	// closed and leaves it closed has no one to wake.
	if wasOpen || b.open {
		b.signal()
	}
}

// distinctToTrip is how many different uploads must share a run of
// transient failures before it counts as an outage: one event that always
// fails (a bad order, a proxy rule) is that event's problem.
const distinctToTrip = 3

// spansEvents reports whether the current run of transient failures spans
// distinctToTrip different uploads.
func (b *breaker) spansEvents() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.failing) >= distinctToTrip
}

// successCount returns how many attempts, of any upload, were delivered or
// rejected so far: the upstream's sign of life.
func (b *breaker) successCount() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.successes
}

// pause opens the breaker unless it is open already.
func (b *breaker) pause(reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		b.trip(reason, 0)
		b.signal()
	}
}

// trip opens the breaker, the first probe after the backoff or minDelay
// (Retry-After), whichever is longer; b.mu is held.
func (b *breaker) trip(reason string, minDelay time.Duration) {
	b.open, b.reason = true, reason
	b.probeBo.Reset()
	b.nextProbe = b.now().Add(max(b.probeBo.NextBackOff(), minDelay))
	b.notify()
}

// notify tells the observer about a state change; b.mu is held so changes
// arrive in order (the Observer must not call back into the Uploader).
func (b *breaker) notify() {
	if b.observer != nil {
		b.observer.Paused(b.open, b.reason)
	}
}
