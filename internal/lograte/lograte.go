// Package lograte limits a log line that repeats, such as a retry loop's warning: the first is
// written at once, then at most one per interval, carrying in field "repeated" how many were left
// out since the last one written. A line that stops repeating is not written again, so its last
// left-out count is dropped. Keys name a line and must come from a bounded set (a message and a
// partition, never an event): the Limiter keeps one small entry per key.
package lograte

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Limiter limits lines by key. Safe for concurrent use.
type Limiter struct {
	every time.Duration

	mu   sync.Mutex
	keys map[string]*entry
}

type entry struct {
	last time.Time // when the line was last written
	left int       // repeats left out since then
}

// New returns a Limiter that writes each key's line at most once per every.
func New(every time.Duration) *Limiter {
	return &Limiter{every: every, keys: map[string]*entry{}}
}

// Allow reports whether the line named key may be written now and, when it may, how many of its
// repeats were left out since the last one written.
func (l *Limiter) Allow(key string) (ok bool, left int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.keys[key]
	if e == nil {
		l.keys[key] = &entry{last: now}
		return true, 0
	}
	if now.Sub(e.last) < l.every {
		e.left++
		return false, 0
	}
	left = e.left
	e.last, e.left = now, 0
	return true, left
}

// Warn returns log's warning event for the line named key, with "repeated" when repeats were
// left out, or nil while the line is being limited (zerolog writes nothing for a nil event).
func (l *Limiter) Warn(log *zerolog.Logger, key string) *zerolog.Event {
	ok, left := l.Allow(key)
	if !ok {
		return nil
	}
	ev := log.Warn()
	if left > 0 {
		ev = ev.Int("repeated", left)
	}
	return ev
}
