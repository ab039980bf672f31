package replay

import (
	"testing"
	"time"
)

func TestLedgerHas(t *testing.T) {
	at := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	l := ledger{{Topic: "orders.dlq", Partition: 1, Offset: 7}: at.UnixMilli()}
	tests := []struct {
		name string
		give message
		want bool
	}{
		{"same record", message{Partition: 1, Offset: 7, Time: at}, true},
		{"other offset", message{Partition: 1, Offset: 8, Time: at}, false},
		{"other partition", message{Partition: 0, Offset: 7, Time: at}, false},
		{"recreated topic, same position", message{Partition: 1, Offset: 7, Time: at.Add(time.Hour)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.has("orders.dlq", tt.give); got != tt.want {
				t.Errorf("has = %v, want %v", got, tt.want)
			}
		})
	}
	if l.has("payments.dlq", message{Partition: 1, Offset: 7, Time: at}) {
		t.Error("an entry of orders.dlq matched payments.dlq")
	}
}

func TestFieldPattern(t *testing.T) {
	tests := []struct{ give, want string }{
		{"/order/dishes/0/unit", "/order/dishes/*/unit"},
		{"/data/order/dishes/12/properties/taste", "/data/order/dishes/*/properties/taste"},
		{"/order/table_no", "/order/table_no"},
		{"ce_time", "ce_time"},
	}
	for _, tt := range tests {
		if got := fieldPattern(tt.give); got != tt.want {
			t.Errorf("fieldPattern(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}
