package merchants

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ordersync/ordersync/internal/uploader"
)

// HoldAfter is the number of merchant-level rejections in a row, with no
// delivery for the sub-merchant in between, that holds it.
const HoldAfter = 3

// maxTracked bounds the sub-merchants with a rejection streak or a hold,
// and so their memory: past it, new streaks are not tracked.
const maxTracked = 100_000

// ErrHeld marks the Outcome of an event of a held sub-merchant, dead-lettered
// without calling the API.
var ErrHeld = errors.New("sub-merchant held")

// MerchantLevel reports whether an answer rejects the sub-merchant rather
// than the event: a 403 NO_AUTH, or a 4xx whose detail.field is sub_mchid.
func MerchantLevel(out uploader.Outcome) bool {
	if out.Class != uploader.Rejected || out.HTTPStatus < 400 || out.HTTPStatus > 499 {
		return false
	}
	return (out.HTTPStatus == http.StatusForbidden && out.Code == "NO_AUTH") ||
		out.Field == "sub_mchid" || out.Field == "/sub_mchid"
}

// holds tracks merchant-level rejections per sub-merchant and holds a
// sub-merchant after HoldAfter in a row: for the hold period its events are
// answered with its last rejection without a call, then one event is sent
// as a probe; a delivery releases the hold, another merchant-level
// rejection holds it for one more period. Safe for concurrent use.
type holds struct {
	period time.Duration
	// changed is called, outside the lock, after each hold (true) or
	// release (false) with the number now held.
	changed func(sub, account string, held bool, why string, n int)

	mu   sync.Mutex
	subs map[string]*holdState
	held int
}

type holdState struct {
	streak  int
	until   time.Time // zero: not held
	probing bool
	last    uploader.Outcome
	account string
}

func newHolds(period time.Duration, changed func(sub, account string, held bool, why string, n int)) *holds {
	return &holds{period: period, changed: changed, subs: map[string]*holdState{}}
}

// admit decides for one event of sub: send (probe false), send as the
// hold period's probe (probe true), or not send: held, with the Outcome to
// dead-letter it with.
func (h *holds) admit(sub string) (probe bool, held *uploader.Outcome) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.subs[sub]
	if s == nil || s.until.IsZero() {
		return false, nil
	}
	if !s.probing && !time.Now().Before(s.until) {
		s.probing = true
		return true, nil
	}
	out := s.last
	out.Attempts = 0
	out.Err = fmt.Errorf("%w: %d merchant-level rejections in a row, held until %s (ORDERSYNC_MERCHANT_HOLD), last answer: %w",
		ErrHeld, s.streak, s.until.UTC().Format(time.RFC3339), s.last.Err)
	return false, &out
}

// done records the outcome of an event of sub uploaded through account.
func (h *holds) done(sub, account string, probe bool, out uploader.Outcome) {
	var note func()
	h.mu.Lock()
	s := h.subs[sub]
	switch {
	case out.Class == uploader.Delivered:
		if s != nil {
			delete(h.subs, sub)
			if !s.until.IsZero() {
				h.held--
				n := h.held
				note = func() { h.changed(sub, s.account, false, "delivered", n) }
			}
		}
	case MerchantLevel(out):
		if s == nil {
			if len(h.subs) >= maxTracked {
				break
			}
			s = &holdState{}
			h.subs[sub] = s
		}
		s.streak++
		s.last, s.account = out, account
		if probe {
			s.probing = false
		}
		if s.streak >= HoldAfter && (s.until.IsZero() || probe) {
			first := s.until.IsZero()
			s.until = time.Now().Add(h.period)
			if first {
				h.held++
				n, why := h.held, out.Err
				note = func() { h.changed(sub, account, true, fmt.Sprint(why), n) }
			}
		}
	case probe && s != nil:
		// Neither delivered nor refused for the merchant: the next event probes.
		s.probing = false
	}
	h.mu.Unlock()
	if note != nil {
		note()
	}
}

// releaseAll lifts every hold and forgets every streak (a registry reload:
// the sub-merchant may have been filed anew).
func (h *holds) releaseAll(why string) {
	type rel struct{ sub, account string }
	var released []rel
	h.mu.Lock()
	for sub, s := range h.subs {
		if !s.until.IsZero() {
			released = append(released, rel{sub, s.account})
		}
	}
	h.subs = map[string]*holdState{}
	h.held = 0
	h.mu.Unlock()
	for i, r := range released {
		h.changed(r.sub, r.account, false, why, len(released)-i-1)
	}
}

// list returns the held sub-merchants with their accounts.
func (h *holds) list() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]string{}
	for sub, s := range h.subs {
		if !s.until.IsZero() {
			out[sub] = s.account
		}
	}
	return out
}
