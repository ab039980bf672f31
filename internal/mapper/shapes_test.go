package mapper

import (
	"strings"
	"testing"
)

// structured wraps the base event (after edits) in a CloudEvents envelope,
// moving event_id, event_type and occurred_at to id, type and time.
func structured(t testing.TB, envEdits []edit, edits ...edit) []byte {
	t.Helper()
	data := build(t, "", append([]edit{del("/event_id"), del("/event_type"), del("/occurred_at")}, edits...)...)
	env := `{"specversion":"1.0","id":"evt-ce-1","type":"order.paid","source":"/platform/orders",` +
		`"time":"2026-11-26T12:30:05+08:00","datacontenttype":"application/json","data":` + string(data) + `}`
	return build(t, env, envEdits...)
}

func binaryHeaders(kv ...string) []Header {
	hs := []Header{{"ce_specversion", []byte("1.0")}, {"ce_id", []byte("evt-bin-1")}, {"ce_type", []byte("order.paid")},
		{"ce_time", []byte("2026-11-26T12:30:05+08:00")}, {"ce_source", []byte("/platform/orders")}}
	for i := 0; i < len(kv); i += 2 {
		for j := range hs {
			if hs[j].Key == kv[i] {
				hs[j].Value = []byte(kv[i+1])
			}
		}
	}
	return hs
}

var binaryValue = func(t testing.TB, edits ...edit) []byte {
	return build(t, "", append([]edit{del("/event_id"), del("/event_type"), del("/occurred_at")}, edits...)...)
}

func TestMapShapes(t *testing.T) {
	tests := []struct {
		name        string
		giveValue   func(t testing.TB) []byte
		giveHeaders []Header
		want        []Violation
		wantID      string
		wantStatus  string
	}{
		{name: "structured", giveValue: func(t testing.TB) []byte { return structured(t, nil) }, wantID: "evt-ce-1", wantStatus: StatusPaySuccess},
		{name: "structured data fields win over attributes", giveValue: func(t testing.TB) []byte {
			return structured(t, nil, set("/event_id", "evt-data"), set("/event_type", "order.created"))
		}, wantID: "evt-data", wantStatus: StatusCreateDeal},
		{name: "structured pointers into data", giveValue: func(t testing.TB) []byte {
			return structured(t, nil, set("/order/dishes/0/unit", "BY_BOWL"))
		}, want: []Violation{v("/data/order/dishes/0/unit", "BY_SHARE")}},
		{name: "structured bad time attribute", giveValue: func(t testing.TB) []byte {
			return structured(t, []edit{set("/time", "yesterday")})
		}, want: []Violation{v("/time", "RFC 3339")}},
		{name: "structured unknown type attribute", giveValue: func(t testing.TB) []byte {
			return structured(t, []edit{set("/type", "com.example.order.paid")})
		}, want: []Violation{v("/type", "unknown event type")}},
		{name: "structured missing id", giveValue: func(t testing.TB) []byte {
			return structured(t, []edit{del("/id")})
		}, want: []Violation{v("/data/event_id", "is required")}},
		{name: "structured wrong specversion", giveValue: func(t testing.TB) []byte {
			return structured(t, []edit{set("/specversion", "0.3")})
		}, want: []Violation{v("/specversion", `must be "1.0"`)}},
		{name: "structured specversion a number", giveValue: func(t testing.TB) []byte {
			return structured(t, []edit{set("/specversion", num("1.0"))})
		}, want: []Violation{v("/specversion", `must be "1.0"`)}},
		{name: "structured without data", giveValue: func(t testing.TB) []byte {
			return structured(t, []edit{del("/data")})
		}, want: []Violation{v("/data", "is required")}},
		{name: "structured data a string", giveValue: func(t testing.TB) []byte {
			return structured(t, []edit{set("/data", "{}")})
		}, want: []Violation{v("/data", "must be a JSON object")}},
		{name: "structured data_base64", giveValue: func(t testing.TB) []byte {
			return structured(t, []edit{set("/data_base64", "e30=")})
		}, want: []Violation{v("/data_base64", "not supported")}},
		{name: "structured XML content type", giveValue: func(t testing.TB) []byte {
			return structured(t, []edit{set("/datacontenttype", "application/xml")})
		}, want: []Violation{v("/datacontenttype", "JSON media type")}},
		{name: "structured JSON content type with parameters", giveValue: func(t testing.TB) []byte {
			return structured(t, []edit{set("/datacontenttype", "application/vnd.orders+json; charset=utf-8")})
		}, wantID: "evt-ce-1", wantStatus: StatusPaySuccess},
		{name: "binary", giveValue: func(t testing.TB) []byte { return binaryValue(t) }, giveHeaders: binaryHeaders(),
			wantID: "evt-bin-1", wantStatus: StatusPaySuccess},
		{name: "binary header names as pointers", giveValue: func(t testing.TB) []byte { return binaryValue(t) },
			giveHeaders: binaryHeaders("ce_time", "2026-11-26T12:30:05", "ce_id", ""),
			want:        []Violation{v("ce_id", "must not be empty"), v("ce_time", "RFC 3339")}},
		{name: "binary wrong specversion", giveValue: func(t testing.TB) []byte { return binaryValue(t) },
			giveHeaders: binaryHeaders("ce_specversion", "1"), want: []Violation{v("ce_specversion", `must be "1.0"`)}},
		{name: "binary invalid UTF-8 header", giveValue: func(t testing.TB) []byte { return binaryValue(t) },
			giveHeaders: binaryHeaders("ce_id", "evt-\xff"), want: []Violation{v("ce_id", "not valid UTF-8")}},
		{name: "binary value fields win", giveValue: func(t testing.TB) []byte { return binaryValue(t, set("/event_id", "evt-v")) },
			giveHeaders: binaryHeaders(), wantID: "evt-v", wantStatus: StatusPaySuccess},
		{name: "binary without ce_id", giveValue: func(t testing.TB) []byte { return binaryValue(t) },
			giveHeaders: append(binaryHeaders()[:1:1], binaryHeaders()[2:]...), want: []Violation{v("/event_id", "is required")}},
		{name: "headers without ce_specversion are ignored", giveValue: func(t testing.TB) []byte { return binaryValue(t) },
			giveHeaders: binaryHeaders()[1:], want: []Violation{v("/event_id", "is required"), v("/event_type", "is required"), v("/occurred_at", "is required")}},
	}
	m := testMapper(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := m.Map(tt.giveValue(t), tt.giveHeaders)
			if tt.want != nil {
				wantViolations(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if res.EventID != tt.wantID || res.Status != tt.wantStatus {
				t.Errorf("event id %q status %q, want %q %q", res.EventID, res.Status, tt.wantID, tt.wantStatus)
			}
			if vs := checkBody(m.Mode(), res.Body); len(vs) > 0 {
				t.Errorf("body breaks %v", vs)
			}
		})
	}
}

func TestMapSkip(t *testing.T) {
	tests := []struct {
		name        string
		giveSkip    []string
		giveValue   []byte
		giveHeaders []Header
		wantSkip    bool
		wantReason  string
	}{
		{name: "default skip type, rest broken", giveSkip: DefaultSkipTypes, giveValue: []byte(`{"event_id":"e1","event_type":"order.served","order":{"order_no":"42","dishes":7}}`),
			wantSkip: true, wantReason: `event type "order.served" is in the skip list`},
		{name: "skip type from CloudEvents attribute", giveSkip: DefaultSkipTypes, giveValue: []byte(`{"specversion":"1.0","id":"e2","type":"order.refunded","data":{}}`),
			wantSkip: true, wantReason: `"order.refunded"`},
		{name: "skip type from header", giveSkip: DefaultSkipTypes, giveValue: []byte(`{}`), giveHeaders: binaryHeaders("ce_type", "order.closed"),
			wantSkip: true, wantReason: `"order.closed"`},
		{name: "configured skip list replaces the default", giveSkip: []string{"order.created"}, giveValue: build(t, "", set("/event_type", "order.created")),
			wantSkip: true, wantReason: `"order.created"`},
		{name: "not in a custom list", giveSkip: []string{"order.created"}, giveValue: build(t, "", set("/event_type", "order.cancelled"))},
		{name: "wrong specversion is invalid even for a skip type", giveSkip: DefaultSkipTypes, giveValue: []byte(`{"specversion":"2.0","id":"e3","type":"order.closed","data":{}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(Config{Mode: ModeServiceProvider, MchID: "1900000001", SpAppID: "wx1", SkipTypes: tt.giveSkip})
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Map(tt.giveValue, tt.giveHeaders)
			if !tt.wantSkip {
				if err == nil || res.Skipped {
					t.Fatalf("got %+v, %v; want invalid", res, err)
				}
				return
			}
			if err != nil || !res.Skipped || res.Body != nil || !strings.Contains(res.SkipReason, tt.wantReason) {
				t.Fatalf("got %+v, %v; want skipped with %q", res, err, tt.wantReason)
			}
			if res.EventID == "" || res.EventType == "" {
				t.Errorf("skipped result lacks id or type: %+v", res)
			}
		})
	}
}

func TestInvalidEventErrorHasNoSecrets(t *testing.T) {
	m := testMapper(t, "")
	secret := "SECRET-login-token-" + long("x", 250)
	value := build(t, "",
		set("/customer/login_token", secret), // too long: a violation about the token itself
		set("/customer/openid", "o1"),
		set("/event_id", "evt\n1"),
		set("/order/dishes/0/unit", "line\nbreak"),
		set("/order/dishes/1/name", "🎂"),
		set("/order/total_amount", -1),
		set("/order/dishes/0/count", 0),
		del("/payment"),
	)
	_, err := m.Map(value, nil)
	inv, ok := err.(*InvalidEventError)
	if !ok || len(inv.Violations) < 6 {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "SECRET") || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("Error() leaks the token or spans lines: %s", msg)
	}
	for _, v := range inv.Violations {
		if strings.Contains(v.Reason, "SECRET") || strings.Contains(v.Field, "SECRET") {
			t.Errorf("violation leaks the token: %+v", v)
		}
	}
	if !strings.Contains(msg, `"evt\n1"`) || !strings.Contains(msg, "and ") {
		t.Errorf("Error() = %s", msg)
	}
}

func TestViolationCap(t *testing.T) {
	dishes := strings.Repeat(`{},`, 500)
	value := []byte(`{"event_id":"e","event_type":"order.created","order":{"dishes":[` + dishes + `{}]}}`)
	_, err := testMapper(t, "").Map(value, nil)
	inv, ok := err.(*InvalidEventError)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	if len(inv.Violations) != maxViolations+1 || !strings.Contains(inv.Violations[maxViolations].Reason, "more violations not listed") {
		t.Fatalf("got %d violations, last %+v", len(inv.Violations), inv.Violations[len(inv.Violations)-1])
	}
}
