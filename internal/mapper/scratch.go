package mapper

import (
	"bytes"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// scratch is the memory one Map call works in: the decoded value, the
// validated dishes, the body before its copy into the Result and the
// decoder that checks a value's syntax token by token. Map takes
// one from scratchPool and gives it back when done; nothing in a Result or
// an error points into it.
type scratch struct {
	top    obj[topJSON]
	dishes []dish
	body   []byte
	dec    *jsontext.Decoder // nil until first needed
	in     bytes.Buffer      // what dec reads: the value, in place
}

// What a scratch keeps when it goes back to the pool, so the pool holds a
// bounded number of bytes: the dish lists of orders of up to
// maxPooledDishes dishes, bodies of up to maxPooledBody bytes and a decoder
// that checked values of up to maxPooledChecked bytes (its memory grows
// with the names it has seen).
const (
	maxPooledDishes  = 64
	maxPooledBody    = 16 << 10
	maxPooledChecked = 16 << 10
)

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// put clears s, keeping the capacity of its lists within the bounds above,
// and returns it to the pool. The dishes point into the message value and
// are cleared, so the pool does not keep the value alive.
func (s *scratch) put() {
	clear(s.dishes)
	l1, l2 := keep(s.top.V.Event.Order.V.Dishes.V), keep(s.top.V.Data.V.Order.V.Dishes.V)
	s.top = obj[topJSON]{}
	s.top.V.Event.Order.V.Dishes.V, s.top.V.Data.V.Order.V.Dishes.V = l1, l2
	if cap(s.dishes) > maxPooledDishes {
		s.dishes = nil
	}
	if cap(s.body) > maxPooledBody {
		s.body = nil
	}
	scratchPool.Put(s)
}

// keep returns l emptied, or nil when it is too large to keep.
func keep(l []obj[dishJSON]) []obj[dishJSON] {
	if cap(l) > maxPooledDishes {
		return nil
	}
	return l[:0]
}
