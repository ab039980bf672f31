package consumer

import (
	"context"
	"sort"
	"sync"
	"time"
)

// tracker follows the offsets of one partition from fetch to finish. It
// yields the offset to commit: one past the highest offset below which every
// fetched offset is finished. It also bounds the window of fetched offsets
// not yet committable, so memory stays flat however deep the backlog.
//
// Offsets are added in increasing order (gaps, such as compacted or
// transaction-marker offsets, are fine); finish may be called in any order.
// tracker is safe for concurrent use.
type tracker struct {
	limit int

	mu      sync.Mutex
	pending []trackEntry // added and not yet contiguous-finished, in offset order
	next    int64        // offset to commit; -1 while nothing has finished
	done    int64        // last offset reported committed; -1 none
	hwm     int64        // partition high watermark last seen
	space   chan struct{}
}

type trackEntry struct {
	offset  int64
	fetched time.Time
	done    bool
}

func newTracker(limit int) *tracker {
	return &tracker{limit: limit, next: -1, done: -1, hwm: -1, space: make(chan struct{}, 1)}
}

// resume makes offset committable at once: everything below it was
// finished earlier (by this process, in a generation whose commit failed);
// landed is the offset last committed.
func (t *tracker) resume(offset, landed int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next, t.done = offset, landed
}

// finished returns the offset below which every fetched offset is finished
// (-1 if none), the offset last reported committed (-1 none) and the
// offsets finished behind an unfinished one.
func (t *tracker) finished() (below, landed int64, above map[int64]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.pending {
		if e.done {
			if above == nil {
				above = map[int64]bool{}
			}
			above[e.offset] = true
		}
	}
	return t.next, t.done, above
}

// waitSpace blocks until fewer than limit offsets are pending or ctx is done.
func (t *tracker) waitSpace(ctx context.Context) error {
	for {
		t.mu.Lock()
		n := len(t.pending)
		t.mu.Unlock()
		if n < t.limit {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.space:
		}
	}
}

// add records a fetched offset and the partition's high watermark.
func (t *tracker) add(offset int64, at time.Time, hwm int64) {
	t.mu.Lock()
	t.pending = append(t.pending, trackEntry{offset: offset, fetched: at})
	if hwm > t.hwm {
		t.hwm = hwm
	}
	t.mu.Unlock()
}

// finish marks offset finished and advances the commit point over every
// contiguous finished offset.
func (t *tracker) finish(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := sort.Search(len(t.pending), func(i int) bool { return t.pending[i].offset >= offset })
	if i == len(t.pending) || t.pending[i].offset != offset {
		return
	}
	t.pending[i].done = true
	n := 0
	for n < len(t.pending) && t.pending[n].done {
		n++
	}
	if n == 0 {
		return
	}
	t.next = t.pending[n-1].offset + 1
	clear(t.pending[:n])
	t.pending = t.pending[n:]
	if len(t.pending) == 0 {
		t.pending = t.pending[:0:0]
	}
	select {
	case t.space <- struct{}{}:
	default:
	}
}

// committable returns the offset to commit and whether it is ahead of the
// last one reported by committed.
func (t *tracker) committable() (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next, t.next > t.done
}

// committed records that offset was committed and returns the lag behind
// the high watermark.
func (t *tracker) committed(offset int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if offset > t.done {
		t.done = offset
	}
	if t.hwm < 0 {
		return 0
	}
	return max(t.hwm-t.done, 0)
}

// stats returns how many fetched offsets are unfinished or blocked behind an
// unfinished one, and when the oldest of them was fetched.
func (t *tracker) stats() (pending int, oldest time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) > 0 {
		oldest = t.pending[0].fetched
	}
	return len(t.pending), oldest
}
