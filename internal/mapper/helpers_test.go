package mapper

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
)

// baseEvent is a valid service-provider order.paid event (docs/events.md with a
// second dish sold by weight).
const baseEvent = `{
  "event_id": "evt-20261126-000123",
  "event_type": "order.paid",
  "occurred_at": "2026-11-26T12:30:05+08:00",
  "merchant": {"sub_mchid": "1900000100", "sub_appid": "wx8888888888888888", "shop_no": "6895"},
  "customer": {"sub_openid": "oYobu0Dmn6TdodZnFWKOEkqoRbI8", "login_token": "071oYFSN19sCH31AyNSN15QDSN1oYFSA"},
  "order": {
    "order_no": "20150806125346", "entry": "pages/menu/index", "table_no": "1", "people_count": 2,
    "total_amount": 1000, "discount_amount": 100, "user_amount": 900,
    "dishes": [
      {"dish_no": "1", "name": "清汤锅底", "price": 1, "unit": "BY_SHARE", "count": 1.5, "discount": 100,
       "category": "HOT_POT", "priority": 1,
       "properties": {"taste": ["辣"], "cuisine": ["炒"], "main_material": ["猪肝"],
                      "ingredients": ["青椒", "辣椒", "葱", "八角"], "others": ["有机", "农家"]}},
      {"dish_no": "2", "name": "基围虾", "price": 16800, "unit": "BY_WEIGHT", "count": 0.75}
    ]
  },
  "payment": {"transaction_id": "1009660380201506130728806387", "out_trade_no": "20150806125346",
              "paid_at": "2026-11-26T12:30:04+08:00"}
}`

// edit changes the base event at a JSON pointer: sets val, or deletes.
type edit struct {
	ptr string
	val any
	del bool
}

func set(ptr string, v any) edit { return edit{ptr: ptr, val: v} }
func del(ptr string) edit        { return edit{ptr: ptr, del: true} }

// num is a JSON number written exactly as given.
func num(s string) json.RawMessage { return json.RawMessage(s) }

func decodeAny(t testing.TB, s []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

// build applies edits to the base event (or to base when given) and
// marshals it without HTML escaping.
func build(t testing.TB, base string, edits ...edit) []byte {
	t.Helper()
	if base == "" {
		base = baseEvent
	}
	ev := decodeAny(t, []byte(base))
	for _, e := range edits {
		segs := strings.Split(e.ptr, "/")[1:]
		cur := ev
		for i, s := range segs {
			last := i == len(segs)-1
			switch c := cur.(type) {
			case map[string]any:
				switch {
				case last && e.del:
					delete(c, s)
				case last:
					c[s] = e.val
				default:
					cur = c[s]
				}
			case []any:
				n, _ := strconv.Atoi(s)
				if last {
					c[n] = e.val
				} else {
					cur = c[n]
				}
			default:
				t.Fatalf("edit %s: no container at %q", e.ptr, s)
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func testMapper(t testing.TB, mode Mode) *Mapper {
	t.Helper()
	if mode == "" {
		mode = ModeServiceProvider
	}
	m, err := New(Config{Mode: mode, MchID: "1900000001", SpAppID: "wx2421b1c4370ec43b",
		ChannelID: "1900000002", SkipTypes: DefaultSkipTypes})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantViolations compares got with want, where want reasons are substrings.
func wantViolations(t *testing.T, err error, want []Violation) {
	t.Helper()
	inv, ok := err.(*InvalidEventError)
	if !ok {
		t.Fatalf("error = %v (%T), want *InvalidEventError with %v", err, err, want)
	}
	if len(inv.Violations) != len(want) {
		t.Fatalf("got %d violations %v, want %d %v", len(inv.Violations), inv.Violations, len(want), want)
	}
	for i, w := range want {
		g := inv.Violations[i]
		if g.Field != w.Field || !strings.Contains(g.Reason, w.Reason) {
			t.Errorf("violation %d = %q %q, want %q containing %q", i, g.Field, g.Reason, w.Field, w.Reason)
		}
	}
}

// checkBody checks a body with the sandbox's server-side checker (written
// independently of this package) and that it is a body of mode; it returns
// what is wrong, nothing when the body is acceptable.
func checkBody(mode Mode, body []byte) []sandbox.Violation {
	if v := sandbox.ValidateOrder(body); v != nil {
		return []sandbox.Violation{*v}
	}
	var ids struct {
		SpMchID   *string `json:"sp_mchid"`
		ChannelID *string `json:"channel_id"`
	}
	if err := json.Unmarshal(body, &ids); err != nil {
		return []sandbox.Violation{{Issue: err.Error()}}
	}
	if (mode == ModeServiceProvider) != (ids.SpMchID != nil) || (mode == ModeChannel) != (ids.ChannelID != nil) {
		return []sandbox.Violation{{Issue: "not a body of mode " + string(mode)}}
	}
	return nil
}
