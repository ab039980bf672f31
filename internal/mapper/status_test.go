package mapper

import (
	"strings"
	"testing"
)

// TestStatusFollowsPayment: an order.updated that carries payment is an
// order changed after it was paid and is sent as PAY_SUCCESS, payment
// included; without payment it stays CREATE_DEAL.
func TestStatusFollowsPayment(t *testing.T) {
	tests := []struct {
		name       string
		give       []edit
		wantStatus string
		wantPay    bool
	}{
		{name: "updated with payment", give: []edit{set("/event_type", "order.updated")}, wantStatus: StatusPaySuccess, wantPay: true},
		{name: "updated without payment", give: []edit{set("/event_type", "order.updated"), del("/payment")}, wantStatus: StatusCreateDeal},
		{name: "updated with null payment", give: []edit{set("/event_type", "order.updated"), set("/payment", nil)}, wantStatus: StatusCreateDeal},
		{name: "created with payment", give: []edit{set("/event_type", "order.created")}, wantStatus: StatusCreateDeal},
		{name: "paid", wantStatus: StatusPaySuccess, wantPay: true},
	}
	m := testMapper(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := m.Map(build(t, "", tt.give...), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", res.Status, tt.wantStatus)
			}
			if got := strings.Contains(string(res.Body), `"transaction_id"`); got != tt.wantPay {
				t.Errorf("body carries payment = %v, want %v: %s", got, tt.wantPay, res.Body)
			}
		})
	}
}

// TestResultNamesTheOrder: the result carries what the delivery ledger keys
// and records — the sub-merchant, the order, and for PAY_SUCCESS the
// transaction and the amount paid.
func TestResultNamesTheOrder(t *testing.T) {
	m := testMapper(t, "")
	res, err := m.Map(build(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.SubMchID != "1900000100" || res.OrderNo != "20150806125346" || res.TransactionID != "1009660380201506130728806387" ||
		res.UserAmount != 900 {
		t.Errorf("result = sub_mchid %q order %q transaction %q user_amount %d", res.SubMchID, res.OrderNo, res.TransactionID, res.UserAmount)
	}
	res, err = m.Map(build(t, "", set("/event_type", "order.created")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.SubMchID != "1900000100" || res.TransactionID != "" || res.UserAmount != 900 {
		t.Errorf("created result = sub_mchid %q transaction %q user_amount %d", res.SubMchID, res.TransactionID, res.UserAmount)
	}
}
