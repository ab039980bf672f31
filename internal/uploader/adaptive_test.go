package uploader

import (
	"math"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func rateInf() rate.Limit { return rate.Inf }

type rateLog struct {
	mu   sync.Mutex
	last float64
}

func (r *rateLog) UploadAttempt(string, int, time.Duration) {}
func (r *rateLog) Paused(bool, string)                      {}
func (r *rateLog) SignCPU(time.Duration)                    {}
func (r *rateLog) RequestRate(v float64) {
	r.mu.Lock()
	r.last = v
	r.mu.Unlock()
}

func TestAdaptiveRateDecreasesOn429AndClimbsBackToTheCeiling(t *testing.T) {
	now := time.Unix(1000, 0)
	obs := &rateLog{}
	a := newAdaptiveRate(100, func() time.Time { return now }, obs)
	if a.cur != 100 || obs.last != 100 {
		t.Fatalf("start = %v (reported %v), want the ceiling 100", a.cur, obs.last)
	}
	a.throttled()
	if want := 100 * rateDecrease; a.cur != want || float64(a.lim.Limit()) != want {
		t.Fatalf("after a 429: %v (limiter %v), want %v", a.cur, a.lim.Limit(), want)
	}
	a.throttled() // the same burst
	if a.cur != 100*rateDecrease {
		t.Fatalf("two 429s within %v lowered the rate twice: %v", decreaseGap, a.cur)
	}
	now = now.Add(decreaseGap)
	a.throttled()
	if want := 100 * rateDecrease * rateDecrease; math.Abs(a.cur-want) > 1e-9 {
		t.Fatalf("after a second burst: %v, want %v", a.cur, want)
	}
	// Additive increase: about rateIncrease per second's worth of answers.
	start := a.cur
	for range int(start) {
		a.answered()
	}
	if a.cur < start+rateIncrease*0.9 || a.cur > start+rateIncrease*1.1 {
		t.Errorf("after one second of answers at %v: %v, want about +%v", start, a.cur, rateIncrease)
	}
	for range 10_000 {
		a.answered()
	}
	if a.cur != 100 || obs.last != 100 {
		t.Errorf("after many answers: %v (reported %v), want capped at the ceiling 100", a.cur, obs.last)
	}
}

func TestAdaptiveRateWithoutCeilingStartsFromTheAnsweredRate(t *testing.T) {
	now := time.Unix(1000, 0)
	obs := &rateLog{}
	a := newAdaptiveRate(0, func() time.Time { return now }, obs)
	if a.lim.Limit() != rateInf() || obs.last != 0 {
		t.Fatalf("no ceiling: limit %v reported %v, want unlimited (0)", a.lim.Limit(), obs.last)
	}
	for range 200 { // 200 answered in the first second
		a.answered()
	}
	now = now.Add(time.Second)
	a.answered()
	if a.lim.Limit() != rateInf() {
		t.Fatal("answers alone set a limit")
	}
	a.throttled()
	if want := 200.0; math.Abs(a.cur-want) > 1 || math.Abs(obs.last-want) > 1 {
		t.Fatalf("first 429 after 200 answers/s: %v (reported %v), want about %v: this instance's share", a.cur, obs.last, want)
	}
	for range 100_000 {
		a.answered()
	}
	if a.cur < 200 {
		t.Errorf("without a ceiling the rate climbs on: %v", a.cur)
	}
}
