package uploader

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Adaptive request rate (README "Serving many restaurants"): a 429 lowers
// the rate multiplicatively, each answered request raises it additively,
// never above the ceiling (Config.RateLimit). Without a ceiling the rate is
// unlimited until the first 429, which starts it from the rate of answered
// (not 429) requests over the last second: this instance's share of the
// quota. Instances that share one quota so settle under it with no setting
// per instance.
const (
	// rateDecrease multiplies the rate on a 429.
	rateDecrease = 0.85
	// rateIncrease is the additive increase, requests/s per second of
	// answered requests at the current rate.
	rateIncrease = 5.0
	// rateFloor is the lowest rate a run of 429s leads to.
	rateFloor = 1.0
	// decreaseGap keeps the 429s of one burst, answered together, from
	// lowering the rate more than once.
	decreaseGap = 500 * time.Millisecond
)

// RateObserver is an optional Observer method: the current request rate,
// requests per second, 0 while no limit is in force.
type RateObserver interface {
	RequestRate(perSecond float64)
}

// adaptiveRate is one Uploader's request rate. Safe for concurrent use.
type adaptiveRate struct {
	lim     *rate.Limiter
	ceiling float64 // 0 = none
	now     func() time.Time
	obs     RateObserver // may be nil

	mu           sync.Mutex
	cur          float64 // math.Inf(1) while unlimited
	lastDecrease time.Time
	windowStart  time.Time
	windowCount  int     // answered requests since windowStart
	lastRate     float64 // answered requests/s over the last full window
}

func newAdaptiveRate(ceiling float64, now func() time.Time, obs Observer) *adaptiveRate {
	a := &adaptiveRate{ceiling: ceiling, now: now, cur: math.Inf(1)}
	a.obs, _ = obs.(RateObserver)
	if ceiling > 0 {
		a.cur = ceiling
	}
	a.lim = rate.NewLimiter(a.limit(), a.burst())
	a.report()
	return a
}

func (a *adaptiveRate) limit() rate.Limit {
	if math.IsInf(a.cur, 1) {
		return rate.Inf
	}
	return rate.Limit(a.cur)
}

// burst lets a tenth of a second's requests go at once.
func (a *adaptiveRate) burst() int {
	if math.IsInf(a.cur, 1) {
		return 1
	}
	return max(1, int(a.cur/10))
}

func (a *adaptiveRate) report() {
	if a.obs == nil {
		return
	}
	if math.IsInf(a.cur, 1) {
		a.obs.RequestRate(0)
		return
	}
	a.obs.RequestRate(a.cur)
}

// tick rolls the one-second window of answered requests; a.mu is held.
func (a *adaptiveRate) tick(now time.Time) {
	if d := now.Sub(a.windowStart); d >= time.Second {
		a.lastRate = float64(a.windowCount) / d.Seconds()
		a.windowStart, a.windowCount = now, 0
	}
}

// throttled lowers the rate after a 429.
func (a *adaptiveRate) throttled() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if now.Sub(a.lastDecrease) < decreaseGap {
		return
	}
	a.lastDecrease = now
	if math.IsInf(a.cur, 1) {
		a.tick(now)
		a.cur = max(rateFloor, a.lastRate, float64(a.windowCount)/max(now.Sub(a.windowStart).Seconds(), 1))
	} else {
		a.cur = max(rateFloor, a.cur*rateDecrease)
	}
	a.apply()
}

// answered raises the rate after a request the API answered (not 429).
func (a *adaptiveRate) answered() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if math.IsInf(a.cur, 1) {
		a.tick(a.now())
		a.windowCount++
		return
	}
	next := a.cur + rateIncrease/a.cur
	if a.ceiling > 0 {
		next = min(next, a.ceiling)
	}
	if next == a.cur {
		return
	}
	a.cur = next
	a.apply()
}

// apply puts a.cur in force; a.mu is held.
func (a *adaptiveRate) apply() {
	a.lim.SetLimit(a.limit())
	a.lim.SetBurst(a.burst())
	a.report()
}
