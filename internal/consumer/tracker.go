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
// Offsets known to be finished before they are fetched (skip) count as
// finished when added. tracker is safe for concurrent use.
type tracker struct {
	limit int

	mu       sync.Mutex
	pending  []trackEntry  // added and not yet contiguous-finished, in offset order
	skip     []offsetRange // finished before being fetched; sorted, not yet added
	next     int64         // offset to commit; -1 while nothing has finished
	done     int64         // last offset reported committed; -1 none
	doneMeta string        // metadata of that commit
	hwm      int64         // partition high watermark last seen
	space    chan struct{}
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

// restart forgets every position known of the partition, which was
// recreated or truncated: first, its first offset, is committable at once.
func (t *tracker) restart(first int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next, t.done, t.doneMeta, t.skip = first, -1, "", nil
}

// setSkip sets the offsets, above any added so far, that were finished
// before they are fetched (runs sorted and disjoint).
func (t *tracker) setSkip(runs []offsetRange) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.skip = runs
}

// finished returns the offset below which every fetched offset is finished
// (-1 if none), the offset last reported committed (-1 none) and the
// offsets finished behind an unfinished one.
func (t *tracker) finished() (below, landed int64, above []offsetRange) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next, t.done, t.finishedAbove()
}

// finishedAbove returns the finished offsets behind the first unfinished
// one, as runs: consecutive finished entries (offsets between two fetched
// ones do not exist) and the skip runs not fetched yet. t.mu is held.
func (t *tracker) finishedAbove() []offsetRange {
	var runs []offsetRange
	open := false
	for _, e := range t.pending {
		switch {
		case !e.done:
			open = false
		case open:
			runs[len(runs)-1].last = e.offset
		default:
			runs = append(runs, offsetRange{e.offset, e.offset})
			open = true
		}
	}
	if len(t.skip) == 0 {
		return runs
	}
	return mergeRanges(runs, t.skip, t.next)
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

// add records a fetched offset and the partition's high watermark. It
// returns true when the offset was finished before (a skip run holds it): it
// is then recorded finished and must not be processed again.
func (t *tracker) add(offset int64, at time.Time, hwm int64) (finished bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if hwm > t.hwm {
		t.hwm = hwm
	}
	for len(t.skip) > 0 && t.skip[0].last < offset {
		t.skip = t.skip[1:]
	}
	finished = len(t.skip) > 0 && t.skip[0].first <= offset
	switch {
	case finished && offset == t.skip[0].last:
		t.skip = t.skip[1:]
	case finished:
		t.skip[0].first = offset + 1
	}
	t.pending = append(t.pending, trackEntry{offset: offset, fetched: at, done: finished})
	if finished {
		t.advance()
	}
	return finished
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
	t.advance()
}

// advance moves the commit point over the leading finished entries. t.mu is
// held.
func (t *tracker) advance() {
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

// committable returns the offset to commit, its metadata (the offsets
// finished above it in at most maxMeta bytes, see encodeFinished; "" for 0)
// and whether either differs from the last commit reported by committed.
// Before the first offset has finished, offsets finished behind it are
// committable too: at the first fetched offset, with them as metadata.
func (t *tracker) committable(maxMeta int) (int64, string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := t.next
	if next < 0 {
		if maxMeta == 0 || len(t.pending) == 0 {
			return next, "", false
		}
		next = t.pending[0].offset
	}
	var meta string
	if maxMeta > 0 {
		meta = encodeFinished(next, t.finishedAbove(), maxMeta)
	}
	if t.next < 0 && meta == "" {
		return next, "", false
	}
	return next, meta, next > t.done || (next == t.done && meta != t.doneMeta)
}

// committed records that offset was committed with meta and returns the lag
// behind the high watermark and whether the committed offset moved forward
// over finished events (a commit at the first fetched offset, carrying
// metadata before anything below it finished, does not).
func (t *tracker) committed(offset int64, meta string) (lag int64, advanced bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	advanced = offset > t.done && t.next >= 0
	if offset >= t.done {
		t.done, t.doneMeta = offset, meta
	}
	if t.hwm < 0 {
		return 0, advanced
	}
	return max(t.hwm-t.done, 0), advanced
}

// seenEnd records the partition's high watermark read from the broker.
func (t *tracker) seenEnd(hwm int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hwm = hwm
}

// positions returns the last high watermark seen (-1 none) and the offset
// last reported committed (-1 none).
func (t *tracker) positions() (hwm, committed int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hwm, t.done
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
