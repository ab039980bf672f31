package merchants

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ordersync/ordersync/internal/uploader"
)

type holdLog struct {
	mu    sync.Mutex
	lines []string
	n     int
}

func (l *holdLog) changed(sub, account string, held bool, _ string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	what := "released"
	if held {
		what = "held"
	}
	l.lines = append(l.lines, sub+" "+account+" "+what)
	l.n = n
}

var (
	noAuth   = uploader.Outcome{Class: uploader.Rejected, HTTPStatus: 403, Code: "NO_AUTH", Message: "商户号未授权", Err: errors.New("403 NO_AUTH")}
	binding  = uploader.Outcome{Class: uploader.Rejected, HTTPStatus: 400, Code: "INVALID_REQUEST", Field: "sub_mchid", Err: errors.New("400")}
	badDish  = uploader.Outcome{Class: uploader.Rejected, HTTPStatus: 400, Code: "PARAM_ERROR", Field: "/dish_list/0/unit", Err: errors.New("400")}
	received = uploader.Outcome{Class: uploader.Delivered, HTTPStatus: 204}
)

func TestMerchantLevel(t *testing.T) {
	for _, tt := range []struct {
		give uploader.Outcome
		want bool
	}{
		{noAuth, true}, {binding, true}, {badDish, false}, {received, false},
		{uploader.Outcome{Class: uploader.Rejected, HTTPStatus: 403, Code: "OUT_TRADE_NO_USED"}, false},
		{uploader.Outcome{Class: uploader.RetriesExhausted, HTTPStatus: 503, Field: "sub_mchid"}, false},
	} {
		if got := MerchantLevel(tt.give); got != tt.want {
			t.Errorf("MerchantLevel(%d %s %s) = %v", tt.give.HTTPStatus, tt.give.Code, tt.give.Field, got)
		}
	}
}

func TestHoldAfterThreeMerchantRejectionsThenProbeEachPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &holdLog{}
		h := newHolds(10*time.Minute, log.changed)
		for i := range HoldAfter {
			if probe, held := h.admit("1900000201"); probe || held != nil {
				t.Fatalf("rejection %d: admit = %v %v before the hold", i, probe, held)
			}
			h.done("1900000201", "sp-east", false, binding)
			if i == 0 {
				h.done("1900000201", "sp-east", false, badDish) // an event-level rejection does not break the streak
			}
		}
		probe, held := h.admit("1900000201")
		if probe || held == nil {
			t.Fatalf("after %d rejections: admit = %v %v, want held", HoldAfter, probe, held)
		}
		if held.Class != uploader.Rejected || held.Code != "INVALID_REQUEST" || held.HTTPStatus != 400 || held.Attempts != 0 || !errors.Is(held.Err, ErrHeld) {
			t.Errorf("held outcome = %+v", held)
		}
		if _, other := h.admit("1900000202"); other != nil {
			t.Error("another sub-merchant is held too")
		}

		time.Sleep(10 * time.Minute)
		if probe, held := h.admit("1900000201"); !probe || held != nil {
			t.Fatalf("after the period: admit = %v %v, want one probe", probe, held)
		}
		if probe, held := h.admit("1900000201"); probe || held == nil {
			t.Fatal("a second event while the probe is in flight is not held")
		}
		h.done("1900000201", "sp-east", true, binding) // probe refused: held one more period
		if _, held := h.admit("1900000201"); held == nil {
			t.Fatal("not held after a refused probe")
		}
		time.Sleep(10 * time.Minute)
		if probe, _ := h.admit("1900000201"); !probe {
			t.Fatal("no probe in the second period")
		}
		h.done("1900000201", "sp-east", true, received)
		if probe, held := h.admit("1900000201"); probe || held != nil {
			t.Fatal("still held after a delivered probe")
		}
		want := []string{"1900000201 sp-east held", "1900000201 sp-east released"}
		if len(log.lines) != 2 || log.lines[0] != want[0] || log.lines[1] != want[1] || log.n != 0 {
			t.Errorf("log = %v (n %d), want %v: one line per hold and per release", log.lines, log.n, want)
		}
	})
}

func TestDeliveryBreaksTheStreakAndReloadReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &holdLog{}
		h := newHolds(time.Minute, log.changed)
		h.done("a", "x", false, noAuth)
		h.done("a", "x", false, noAuth)
		h.done("a", "x", false, received)
		h.done("a", "x", false, noAuth)
		if _, held := h.admit("a"); held != nil {
			t.Fatal("held although a delivery came between the rejections")
		}
		for range HoldAfter {
			h.done("b", "y", false, noAuth)
		}
		if got := h.list(); len(got) != 1 || got["b"] != "y" {
			t.Fatalf("list = %v", got)
		}
		h.releaseAll("registry reloaded")
		if _, held := h.admit("b"); held != nil || len(h.list()) != 0 {
			t.Fatal("still held after releaseAll")
		}
		if len(log.lines) != 2 || log.n != 0 {
			t.Errorf("log = %v", log.lines)
		}
	})
}
