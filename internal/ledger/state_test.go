package ledger

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 12, 30, 5, 0, time.FixedZone("CST", 8*3600))

func delivered(status string, action time.Time, body string, at time.Time) Record {
	return Record{SubMchID: "1900000100", OutOrderNo: "A1", Status: status, ActionTime: action,
		BodySHA256: BodySum([]byte(body)), DeliveredAt: at}
}

func TestGuard(t *testing.T) {
	tests := []struct {
		name       string
		give       *Record // delivered state; nil = none
		giveStatus string
		giveAction time.Time
		giveBody   string
		want       string
	}{
		{name: "unknown order is sent", giveStatus: StatusCreateDeal, giveAction: t0, giveBody: "a"},
		{name: "created after paid", give: ptr(delivered(StatusPaySuccess, t0, "p", t0)), giveStatus: StatusCreateDeal,
			giveAction: t0.Add(time.Minute), giveBody: "c", want: ReasonAlreadyPaid},
		{name: "older created after paid", give: ptr(delivered(StatusPaySuccess, t0, "p", t0)), giveStatus: StatusCreateDeal,
			giveAction: t0.Add(-time.Minute), giveBody: "c", want: ReasonAlreadyPaid},
		{name: "older created after created", give: ptr(delivered(StatusCreateDeal, t0, "c2", t0)), giveStatus: StatusCreateDeal,
			giveAction: t0.Add(-time.Second), giveBody: "c1", want: ReasonStale},
		{name: "older paid after paid", give: ptr(delivered(StatusPaySuccess, t0, "p2", t0)), giveStatus: StatusPaySuccess,
			giveAction: t0.Add(-time.Second), giveBody: "p1", want: ReasonStale},
		{name: "same body again", give: ptr(delivered(StatusPaySuccess, t0, "p", t0)), giveStatus: StatusPaySuccess,
			giveAction: t0, giveBody: "p", want: ReasonAlreadyDelivered},
		{name: "same time, other body", give: ptr(delivered(StatusCreateDeal, t0, "c1", t0)), giveStatus: StatusCreateDeal,
			giveAction: t0, giveBody: "c2"},
		{name: "newer created", give: ptr(delivered(StatusCreateDeal, t0, "c1", t0)), giveStatus: StatusCreateDeal,
			giveAction: t0.Add(time.Second), giveBody: "c2"},
		{name: "paid older than created is still sent", give: ptr(delivered(StatusCreateDeal, t0, "c", t0)), giveStatus: StatusPaySuccess,
			giveAction: t0.Add(-time.Minute), giveBody: "p"},
		{name: "paid after paid, newer", give: ptr(delivered(StatusPaySuccess, t0, "p1", t0)), giveStatus: StatusPaySuccess,
			giveAction: t0.Add(time.Minute), giveBody: "p2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(72 * time.Hour)
			if tt.give != nil {
				s.Put(*tt.give, t0)
			}
			got := s.Check(Event{SubMchID: "1900000100", OutOrderNo: "A1", Status: tt.giveStatus, ActionTime: tt.giveAction, Body: []byte(tt.giveBody)})
			if got != tt.want {
				t.Errorf("Check = %q, want %q", got, tt.want)
			}
			other := s.Check(Event{SubMchID: "1900000101", OutOrderNo: "A1", Status: StatusCreateDeal, ActionTime: t0, Body: []byte(tt.giveBody)})
			if other != "" {
				t.Errorf("another sub-merchant's order of the same number is guarded: %q", other)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestStateRetention(t *testing.T) {
	s := NewState(time.Hour)
	s.Put(delivered(StatusPaySuccess, t0, "p", t0.Add(-2*time.Hour)), t0)
	if s.Len() != 0 {
		t.Fatalf("a record older than the retention is held")
	}
	s.Put(delivered(StatusPaySuccess, t0, "p", t0), t0)
	if n := s.Forget(t0.Add(30 * time.Minute)); n != 0 || s.Len() != 1 {
		t.Fatalf("Forget within the retention dropped %d, holds %d", n, s.Len())
	}
	if n := s.Forget(t0.Add(61 * time.Minute)); n != 1 || s.Len() != 0 {
		t.Fatalf("Forget after the retention dropped %d, holds %d", n, s.Len())
	}
	if got := s.Check(Event{SubMchID: "1900000100", OutOrderNo: "A1", Status: StatusCreateDeal, ActionTime: t0}); got != "" {
		t.Errorf("forgotten order still guarded: %q", got)
	}
}

// TestStateBytesPerOrder measures the heap a State holds per order, over
// several sizes (a map's cost per entry varies with its fill): at most 64.
func TestStateBytesPerOrder(t *testing.T) {
	for _, n := range []int{100_000, 150_000, 250_000} {
		perOrder := heldPerOrder(t, n)
		t.Logf("%d orders: %.1f bytes/order", n, perOrder)
		if perOrder > 64 {
			t.Errorf("%d orders hold %.1f bytes each, want at most 64", n, perOrder)
		}
	}
}

// heldPerOrder returns the live heap a State of n orders holds, per order.
func heldPerOrder(t testing.TB, n int) float64 {
	recs := make([]Record, 1000)
	for i := range recs {
		recs[i] = Record{SubMchID: "1900000100", Status: StatusPaySuccess, ActionTime: t0, BodySHA256: BodySum([]byte(strconv.Itoa(i))), DeliveredAt: t0}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := NewState(72 * time.Hour)
	for i := range n {
		r := recs[i%len(recs)]
		r.OutOrderNo = strconv.Itoa(1e9 + i)
		s.Put(r, t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if s.Len() != n {
		t.Fatalf("held %d orders, want %d", s.Len(), n)
	}
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// BenchmarkStateBytesPerOrder reports the heap held per order for 1 M orders.
func BenchmarkStateBytesPerOrder(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(heldPerOrder(b, 1_000_000), "bytes/order")
	}
}

// TestRestoreKeepsALaterDelivery: a record read by a restore does not
// replace a state this process delivered later.
func TestRestoreKeepsALaterDelivery(t *testing.T) {
	s := NewState(72 * time.Hour)
	s.Put(delivered(StatusPaySuccess, t0, "p", t0.Add(time.Minute)), t0)
	old := delivered(StatusCreateDeal, t0, "c", t0)
	s.put(s.id(old.SubMchID, old.OutOrderNo), guardFields{status: old.Status, actionTime: old.ActionTime, deliveredAt: old.DeliveredAt, bodySum: old.BodySHA256}, t0, true)
	if got := s.Check(Event{SubMchID: "1900000100", OutOrderNo: "A1", Status: StatusCreateDeal, ActionTime: t0.Add(time.Hour), Body: []byte("x")}); got != ReasonAlreadyPaid {
		t.Errorf("Check = %q after restoring an older record, want already_paid", got)
	}
}
