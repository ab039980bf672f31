package chaos

import (
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
)

// TestPaidRegressions: the check of the ledger scenarios finds an order sent
// back to CREATE_DEAL after its payment, and a paid order WeChat Pay would
// not hold as paid.
func TestPaidRegressions(t *testing.T) {
	rec := func(order, status string) sandbox.Record {
		return sandbox.Record{SubMchID: "1900000109", OrderNo: order, Status: status}
	}
	uploads := []sandbox.Record{
		rec("1", statusCreateDeal), rec("1", statusPaySuccess), // fine
		rec("2", statusPaySuccess), rec("2", statusCreateDeal), rec("2", statusPaySuccess), // went back, ends paid
		rec("3", statusCreateDeal), // never paid
		rec("4", statusPaySuccess), // paid, but held as created
	}
	held := map[string]string{"1": statusPaySuccess, "2": statusPaySuccess, "3": statusCreateDeal, "4": statusCreateDeal}
	last := func(sub, order string) (sandbox.Record, bool) {
		s, ok := held[order]
		return rec(order, s), ok
	}
	wentBack, endUnpaid, paid := paidRegressions(last, uploads)
	if len(wentBack) != 1 || wentBack[0] != "1900000109/2" {
		t.Errorf("went back: %v, want order 2 only", wentBack)
	}
	if len(endUnpaid) != 1 || endUnpaid[0] != `1900000109/4 ends "CREATE_DEAL"` {
		t.Errorf("paid orders not held as paid: %v, want order 4 only", endUnpaid)
	}
	if paid != 3 {
		t.Errorf("%d paid orders, want 3", paid)
	}
}
