package consumer

import (
	"context"
	"sync"
)

// byteBudget bounds the bytes of fetched, unfinished events across the
// partitions of one instance. acquire waits while the budget is spent; an
// event larger than the whole budget is let through when nothing else is
// held, so it cannot wait for ever. A limit of 0 or less is no bound.
// byteBudget is safe for concurrent use.
type byteBudget struct {
	limit int64

	mu      sync.Mutex
	held    int64
	waiters int
	freed   chan struct{} // closed and replaced by every release
}

func newByteBudget(limit int64) *byteBudget {
	return &byteBudget{limit: limit, freed: make(chan struct{})}
}

// acquire takes n bytes, waiting until they fit or ctx is done (it then
// returns ctx's error and takes nothing).
func (b *byteBudget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	for b.limit > 0 && b.held > 0 && b.held+n > b.limit {
		b.waiters++
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			b.mu.Lock()
			b.waiters--
			b.mu.Unlock()
			return ctx.Err()
		case <-freed:
		}
		b.mu.Lock()
		b.waiters--
	}
	b.held += n
	b.mu.Unlock()
	return nil
}

// release gives n bytes back.
func (b *byteBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.held -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// inUse returns the bytes held.
func (b *byteBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// waiting returns how many acquire calls are waiting.
func (b *byteBudget) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiters
}

// eventBytes is what a fetched event holds in memory: the message's key,
// value and headers, and the mapped body.
func eventBytes(ev *event) int64 {
	n := len(ev.msg.Key) + len(ev.msg.Value) + len(ev.result.Body)
	for _, h := range ev.msg.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}
