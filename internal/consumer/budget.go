package consumer

import (
	"context"
	"slices"
	"sync"

	"github.com/segmentio/kafka-go"
)

// byteBudget bounds the bytes of fetched, unfinished events across the
// partitions of one instance, in two parts: pending, the events handed to
// the runtime, and ahead, what the partition readers fetched and hold
// (docs/architecture.md). Readers reserve before each fetch; the ahead part
// is capped at half the limit. An event, or a reservation, that does not
// fit is let through when nothing else that would free bytes is held, so
// neither can wait for ever. Reservations are taken in the order they were
// asked for: readers of idle partitions, whose fetches come back empty and
// reserve again at once, cannot keep a reader with records waiting. A
// limit of 0 or less is no bound.
// byteBudget is safe for concurrent use.
type byteBudget struct {
	limit int64

	mu      sync.Mutex
	pending int64
	ahead   int64
	waiters int
	freed   chan struct{} // closed and replaced whenever bytes are given back
	// turns are the reservations not yet taken, oldest first; lastTurn
	// numbers them.
	turns    []uint64
	lastTurn uint64
}

func newByteBudget(limit int64) *byteBudget {
	return &byteBudget{limit: limit, freed: make(chan struct{})}
}

// grow takes n more pending bytes for a caller that already holds have of
// them: it waits while other pending events hold bytes and n does not fit.
func (b *byteBudget) grow(ctx context.Context, have, n int64) error {
	return b.wait(ctx, func() bool {
		return b.limit <= 0 || b.pending-have <= 0 || b.pending+b.ahead+n <= b.limit
	}, func() { b.pending += n })
}

// reserve takes n read-ahead bytes for one fetch: it waits for its turn,
// and while they do not fit, in the whole budget or in its half for
// read-ahead, and anything is held.
func (b *byteBudget) reserve(ctx context.Context, n int64) error {
	var turn uint64
	err := b.wait(ctx, func() bool {
		if turn == 0 {
			b.lastTurn++
			turn = b.lastTurn
			b.turns = append(b.turns, turn)
		}
		return b.turns[0] == turn && (b.limit <= 0 || b.pending+b.ahead == 0 ||
			(b.ahead+n <= b.limit/2 && b.pending+b.ahead+n <= b.limit))
	}, func() {
		b.ahead += n
		b.turns = b.turns[1:]
		b.wake() // the next turn may fit too
	})
	if err != nil {
		b.mu.Lock()
		b.turns = slices.DeleteFunc(b.turns, func(t uint64) bool { return t == turn })
		b.wake()
		b.mu.Unlock()
	}
	return err
}

// wait runs take once fits holds, or returns ctx's error.
func (b *byteBudget) wait(ctx context.Context, fits func() bool, take func()) error {
	b.mu.Lock()
	for !fits() {
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
	take()
	b.mu.Unlock()
	return nil
}

// settle replaces a reservation of reserved read-ahead bytes by the size of
// what the fetch brought, which may be more.
func (b *byteBudget) settle(reserved, real int64) {
	b.update(func() { b.ahead += real - reserved })
}

// handOver moves n bytes from read-ahead to pending: a reader handed a
// message to the runtime.
func (b *byteBudget) handOver(n int64) {
	b.update(func() { b.ahead -= n; b.pending += n })
}

// releaseAhead gives back n read-ahead bytes (a reader closed with messages
// it had not handed over).
func (b *byteBudget) releaseAhead(n int64) {
	b.update(func() { b.ahead -= n })
}

// release gives back n pending bytes.
func (b *byteBudget) release(n int64) {
	b.update(func() { b.pending -= n })
}

// update applies change and wakes the waiters, if any: a waiter counts
// itself in waiters before it takes freed, so with none the channel is
// held by no one and is kept.
func (b *byteBudget) update(change func()) {
	b.mu.Lock()
	change()
	b.wake()
	b.mu.Unlock()
}

// wake makes every waiter look again; the caller holds b.mu.
func (b *byteBudget) wake() {
	if b.waiters > 0 {
		close(b.freed)
		b.freed = make(chan struct{})
	}
}

// eventBytes is what a fetched event holds in memory: its message
// (messageBytes) and the mapped body.
func eventBytes(ev *event) int64 {
	return messageBytes(ev.msg) + int64(len(ev.result.Body))
}

// messageBytes is what a fetched message holds in memory: its key, value
// and headers.
func messageBytes(m kafka.Message) int64 {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}
