package chaos

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// Scenarios of the delivery ledger (docs/ledger.md): what it must hold
// across crashes and handoffs of the real worker.

const (
	statusCreateDeal = "CREATE_DEAL"
	statusPaySuccess = "PAY_SUCCESS"
)

// ledgerInFlight is the in-flight limit of the ledger crash scenario: with
// the ledger a crash may repeat only the uploads whose 204 had no ledger
// acknowledgement yet, at most this many.
const ledgerInFlight = 32

// paidRegressions names the orders whose accepted uploads, in the order the
// sandbox accepted them, show a CREATE_DEAL after a PAY_SUCCESS, and the
// orders with a PAY_SUCCESS accepted whose last state (last, what WeChat Pay
// would hold) is not PAY_SUCCESS; paid counts the orders with a PAY_SUCCESS.
func paidRegressions(last func(subMchID, orderNo string) (sandbox.Record, bool), uploads []sandbox.Record) (wentBack, endUnpaid []string, paidOrders int) {
	paid := map[string]bool{}
	back := map[string]bool{}
	for _, r := range uploads {
		k := r.SubMchID + "/" + r.OrderNo
		switch r.Status {
		case statusPaySuccess:
			if !paid[k] {
				paidOrders++
			}
			paid[k] = true
		case statusCreateDeal:
			if paid[k] && !back[k] {
				back[k] = true
				wentBack = append(wentBack, k)
			}
		}
	}
	for _, r := range uploads {
		k := r.SubMchID + "/" + r.OrderNo
		if !paid[k] {
			continue
		}
		paid[k] = false // once per order
		if held, ok := last(r.SubMchID, r.OrderNo); !ok || held.Status != statusPaySuccess {
			endUnpaid = append(endUnpaid, fmt.Sprintf("%s ends %q", k, held.Status))
		}
	}
	return wentBack, endUnpaid, paidOrders
}

// checkPaidKept fails t for every order that went back from PAY_SUCCESS at
// the sandbox.
func checkPaidKept(t *testing.T, h *harness) {
	t.Helper()
	wentBack, endUnpaid, paid := paidRegressions(h.st.Sandbox.LastState, h.st.Sandbox.Records())
	if paid == 0 {
		t.Fatal("no order was paid at the sandbox: the check could not fail")
	}
	for i, k := range wentBack {
		if i == maxProblems {
			t.Errorf("%d more orders went back from PAY_SUCCESS", len(wentBack)-i)
			break
		}
		t.Errorf("order %s: CREATE_DEAL accepted after its PAY_SUCCESS", k)
	}
	for i, k := range endUnpaid {
		if i == maxProblems {
			t.Errorf("%d more paid orders do not end PAY_SUCCESS", len(endUnpaid)-i)
			break
		}
		t.Errorf("paid order %s at the sandbox", k)
	}
}

// killLedger SIGKILLs the worker kills times under load, with the ledger on
// (the default) and ledgerInFlight uploads in flight, restarting it each
// time. Every event is still delivered (a kill between a 204 and its ledger
// acknowledgement re-uploads, never loses), at most kills × ledgerInFlight
// uploads are repeated, no order goes back from PAY_SUCCESS at the sandbox
// and no older state follows a newer one across a restart.
func killLedger(t *testing.T, orders, kills int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(10, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant},
		env: []string{fmt.Sprintf("ORDERSYNC_MAX_IN_FLIGHT=%d", ledgerInFlight)}})
	t.Logf("%d events, %d SIGKILLs, %d in flight", len(h.events), kills, ledgerInFlight)
	points := make([]float64, kills)
	for i := range points {
		points[i] = h.between(0.05, 0.9)
	}
	slices.Sort(points)
	p := h.start()
	for _, at := range points {
		h.waitFraction(at, timeout)
		time.Sleep(time.Duration(h.rng.IntN(300)) * time.Millisecond) // a random moment, not a synchronisation
		h.kill(p)
		p = h.start()
		h.recovered(time.Minute)
	}
	f, _ := h.result(timeout)
	if b := kills * ledgerInFlight; f.DupUploads > b {
		t.Errorf("%d duplicate uploads after %d SIGKILLs with the ledger on; at most %d (kills × in-flight)", f.DupUploads, kills, b)
	}
	if f.Regressions != 0 {
		t.Errorf("%d older states uploaded after a newer one across a restart; the ledger's guard skips them", f.Regressions)
	}
	checkPaidKept(t, h)
	t.Logf("ledger under %d SIGKILLs: %d duplicate uploads (bound %d = kills × in-flight), %d regressions across restarts",
		kills, f.DupUploads, kills*ledgerInFlight, f.Regressions)
}

// lastEvents returns, for every order, its last event to deliver: re-sent,
// its body is byte for byte the one delivered last.
func (h *harness) lastEvents() []sample.Event {
	last := map[string]string{} // event id → order
	for _, body := range h.want.lastBody {
		ref := h.want.valid[body]
		last[ref.eventID] = ref.order
	}
	var out []sample.Event
	for _, ev := range h.events {
		if _, ok := last[ev.EventID]; ok {
			out = append(out, ev)
		}
	}
	return out
}

// resend produces events again (the harness's expectation unchanged: they
// must be skipped, not delivered) and waits until they are committed.
func (h *harness) resend(events []sample.Event, timeout time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.st.Produce(ctx, events); err != nil {
		h.t.Fatal(err)
	}
	h.produced += int64(len(events))
	h.waitCommitted(h.produced, timeout)
}

const alreadyDelivered = "ordersync_events_skipped_total{reason=already_delivered}"

// ledgerRebalance hands partitions through three instances: A delivers
// everything alone; B and C join, and every order's last delivered event is
// re-sent; A stops, and they are re-sent again. The partitions B and C own
// were delivered by A, so only the state they restored from the ledger
// tells them the re-sent events are delivered: each is skipped as
// already_delivered, none is uploaded again.
func ledgerRebalance(t *testing.T, orders int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(11, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	a := h.start()
	h.waitCommitted(h.produced, timeout)
	h.settle()
	uploads := h.st.Sandbox.Count()
	resent := h.lastEvents()
	if len(resent) == 0 {
		t.Fatal("no delivered event to re-send")
	}

	b := h.start()
	c := h.start()
	h.handedOver(3)
	h.resend(resent, timeout)
	fromA := h.metric(a, alreadyDelivered)
	unknown := h.unknownAttempts(a) // B and C upload nothing
	h.terminate(a)
	h.handedOver(2)
	h.resend(resent, timeout)

	var fromBC float64
	for _, p := range []*proc{b, c} {
		m := h.scrapeAll(p)
		if m["ordersync_ledger_restored_records_total"] == 0 {
			t.Errorf("worker %d restored no ledger record on its partitions", p.n)
		}
		if m[alreadyDelivered] == 0 {
			t.Errorf("worker %d skipped no re-sent event as already_delivered", p.n)
		}
		fromBC += m[alreadyDelivered]
		t.Logf("worker %d: %.0f ledger records restored in %.3f s over %.0f restores, %.0f re-sent events skipped as already_delivered",
			p.n, m["ordersync_ledger_restored_records_total"], m["ordersync_ledger_restore_seconds_sum"],
			m["ordersync_ledger_restore_seconds_count"], m[alreadyDelivered])
	}
	if want := float64(2 * len(resent)); fromA+fromBC != want {
		t.Errorf("%.0f re-sent events skipped as already_delivered (%.0f by the first worker, %.0f by the new owners), want all %.0f",
			fromA+fromBC, fromA, fromBC, want)
	}
	h.settle()
	if n := h.st.Sandbox.Count(); n != uploads {
		t.Errorf("%d uploads after the re-sends, %d before: a re-sent delivered state was uploaded again", n, uploads)
	}
	f, _ := h.result(timeout)
	// The handoffs happened with everything committed: only an attempt of
	// A's with an unknown outcome may have repeated an upload.
	boundNoCrash(t, f, unknown)
	t.Logf("rebalance through three instances: %d delivered states re-sent twice, %.0f skipped by the first worker, %.0f by the new owners",
		len(resent), fromA, fromBC)
}
