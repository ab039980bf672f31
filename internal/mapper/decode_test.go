package mapper

import (
	"bytes"
	"strings"
	"testing"
)

// TestMemberNames checks how member names are matched: after unescaping
// (so "shop\u005fno" is shop_no) and case-sensitively (so "Shop_No" is an
// unknown member, ignored), at every level of the event.
func TestMemberNames(t *testing.T) {
	m := testMapper(t, "")
	want, err := m.Map([]byte(baseEvent), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, old, new string
		wantField      string // "" when the event maps to the base event's body
	}{
		{"escaped member name", `"shop_no"`, `"shop\u005fno"`, ""},
		{"escaped object name", `"order"`, `"\u006frder"`, ""},
		{"escaped dish member", `"dish_no"`, `"dish\u005Fno"`, ""},
		{"member name in other case", `"shop_no"`, `"Shop_No"`, "/merchant/shop_no"},
		{"object name in other case", `"customer"`, `"CUSTOMER"`, "/customer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			value := strings.Replace(baseEvent, c.old, c.new, 1)
			if value == baseEvent {
				t.Fatalf("%s is not in the base event", c.old)
			}
			res, err := m.Map([]byte(value), nil)
			if c.wantField == "" {
				if err != nil || !bytes.Equal(res.Body, want.Body) {
					t.Fatalf("got %s, %v; want the base event's body %s", res.Body, err, want.Body)
				}
				return
			}
			wantViolations(t, err, []Violation{{Field: c.wantField, Reason: "is required"}})
		})
	}
}
