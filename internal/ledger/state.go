package ledger

import (
	"encoding/hex"
	"hash/maphash"
	"sync"
	"time"
)

// Reasons the guard skips an event, the reason label of
// ordersync_events_skipped_total.
const (
	// ReasonAlreadyPaid: the event would send CREATE_DEAL for an order whose
	// PAY_SUCCESS was delivered.
	ReasonAlreadyPaid = "already_paid"
	// ReasonStale: its action_time is older than the delivered one of the
	// same status.
	ReasonStale = "stale"
	// ReasonAlreadyDelivered: its body is byte for byte the one delivered
	// last.
	ReasonAlreadyDelivered = "already_delivered"
)

// Event is what the guard compares with an order's delivered state.
type Event struct {
	SubMchID, OutOrderNo string
	Status               string
	ActionTime           time.Time
	Body                 []byte
}

// epoch is the origin of the 32-bit second counts an entry holds; they last
// until 2156.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// entry is one order's delivered state in 16 bytes: the action time and the
// delivery time in seconds since epoch, the status, and 56 bits of the body's
// SHA-256 (a false "already delivered" needs a 2^-56 collision between two
// bodies of one order).
type entry struct {
	action, delivered uint32
	sum               [7]byte
	paid              bool
}

// State is the delivered state of the orders of the partitions this process
// owns, one fixed-size entry an order (its memory: docs/benchmarks.md). Orders are keyed
// by a 64-bit hash of their ledger key: two orders colliding (likely once
// among 2^32 orders) would guard each other. State is safe for concurrent use.
type State struct {
	seed      maphash.Seed
	retention time.Duration

	mu      sync.Mutex
	entries map[uint64]entry
}

// NewState returns an empty State that forgets an order's state retention
// after its delivery (0: never).
func NewState(retention time.Duration) *State {
	return &State{seed: maphash.MakeSeed(), retention: retention, entries: map[uint64]entry{}}
}

// id is the 64-bit hash of the order's ledger key (maphash hashes a
// sequence of writes as their concatenation).
func (s *State) id(subMchID, outOrderNo string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	_, _ = h.WriteString(subMchID)
	_ = h.WriteByte('/')
	_, _ = h.WriteString(outOrderNo)
	return h.Sum64()
}

func (s *State) keyID(key []byte) uint64 { return maphash.Bytes(s.seed, key) }

func secs(t time.Time) uint32 {
	d := t.Unix() - epoch
	switch {
	case d < 0:
		return 0
	case d > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(d)
}

func sum7(hexSum string) (out [7]byte) {
	b, err := hex.DecodeString(hexSum)
	if err == nil && len(b) >= 7 {
		copy(out[:], b)
	}
	return out
}

// Check returns the reason the guard skips ev, or "" when ev is to be sent.
// A PAY_SUCCESS is never stale to a delivered CREATE_DEAL: the payment is
// what the restaurant must not lose, whatever the clocks say.
func (s *State) Check(ev Event) string {
	s.mu.Lock()
	e, ok := s.entries[s.id(ev.SubMchID, ev.OutOrderNo)]
	s.mu.Unlock()
	if !ok {
		return ""
	}
	paid := ev.Status == StatusPaySuccess
	switch {
	case e.paid && !paid:
		return ReasonAlreadyPaid
	case paid && !e.paid:
		return ""
	case secs(ev.ActionTime) < e.action:
		return ReasonStale
	case sum7(BodySum(ev.Body)) == e.sum:
		return ReasonAlreadyDelivered
	}
	return ""
}

// Put records r as its order's delivered state, replacing the one held: the
// ledger's order is delivery order, so the later record wins. A record
// delivered longer than the retention ago is not held.
func (s *State) Put(r Record, now time.Time) {
	s.put(s.id(r.SubMchID, r.OutOrderNo), guardFields{status: r.Status, actionTime: r.ActionTime, deliveredAt: r.DeliveredAt, bodySum: r.BodySHA256}, now, false)
}

// put holds g for order id. A restored record (restored) does not replace
// a state delivered later: a write of this process may have landed while
// the partition was read.
func (s *State) put(id uint64, g guardFields, now time.Time, restored bool) {
	if s.retention > 0 && now.Sub(g.deliveredAt) > s.retention {
		return
	}
	e := entry{action: secs(g.actionTime), delivered: secs(g.deliveredAt), sum: sum7(g.bodySum), paid: g.status == StatusPaySuccess}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.entries[id]; restored && ok && old.delivered > e.delivered {
		return
	}
	s.entries[id] = e
}

// remove drops the state of the order with ledger key key (a tombstone).
func (s *State) remove(key []byte) {
	id := s.keyID(key)
	s.mu.Lock()
	delete(s.entries, id)
	s.mu.Unlock()
}

// Forget drops the state of orders delivered longer than the retention ago
// and returns how many it dropped.
func (s *State) Forget(now time.Time) int {
	if s.retention <= 0 {
		return 0
	}
	cut := secs(now.Add(-s.retention))
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, e := range s.entries {
		if e.delivered < cut {
			delete(s.entries, id)
			n++
		}
	}
	return n
}

// Len returns the number of orders held.
func (s *State) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}
