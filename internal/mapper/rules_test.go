package mapper

import (
	"encoding/json"
	"strings"
	"testing"
)

// ruleCase is one rule of docs/events.md / the sync-status API. The same cases
// drive the JSON Schema test (schema_test.go): goOnly marks a rule the schema
// cannot express (mode-dependent, cross-field, deployment defaults, byte
// level), noSchema a value the schema test cannot even decode.
type ruleCase struct {
	name     string
	mode     Mode
	give     []edit
	giveRaw  string // the value as text, instead of edits to the base event
	want     []Violation
	goOnly   bool
	noSchema bool
}

func (c ruleCase) value(t testing.TB) []byte {
	if c.giveRaw != "" {
		return []byte(c.giveRaw)
	}
	return build(t, "", c.give...)
}

var long = strings.Repeat

func v(field, reason string) Violation { return Violation{Field: field, Reason: reason} }

var ruleCases = []ruleCase{
	// Valid variants.
	{name: "base paid event"},
	{name: "created without payment", give: []edit{set("/event_type", "order.created"), del("/payment")}},
	{name: "updated without payment", give: []edit{set("/event_type", "order.updated"), del("/payment")}},
	{name: "updated with a broken payment", give: []edit{set("/event_type", "order.updated"), set("/payment", "junk")}, want: []Violation{v("/payment", "must be an object")}},
	{name: "updated payment without transaction", give: []edit{set("/event_type", "order.updated"), del("/payment/transaction_id")}, want: []Violation{v("/payment/transaction_id", "is required")}},
	{name: "openid without sub_appid", give: []edit{del("/customer/sub_openid"), set("/customer/openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"), del("/merchant/sub_appid")}},
	{name: "integral forms", give: []edit{set("/order/total_amount", num("1000.0")), set("/order/discount_amount", num("1e2")), set("/order/user_amount", num("90E1"))}},
	{name: "count with trailing zeros", give: []edit{set("/order/dishes/0/count", num("2.00"))}},
	{name: "count two decimals", give: []edit{set("/order/dishes/0/count", num("0.05"))}},
	{name: "null optional fields are absent", give: []edit{set("/order/table_no", nil), set("/order/people_count", nil), set("/order/dishes/0/properties", nil), set("/order/dishes/0/category", nil)}},
	{name: "UTC and fractional times", give: []edit{set("/occurred_at", "2026-11-26T04:30:05.123Z"), set("/payment/paid_at", "2026-11-25T23:30:04-05:00")}},
	{name: "unknown fields ignored", give: []edit{set("/source", map[string]any{"x": []any{1, 2}}), set("/order/dishes/0/sku", "A-1")}},
	{name: "overrides", give: []edit{set("/merchant/sp_mchid", "1900000009"), set("/merchant/sp_appid", "wxoverride")}},
	{name: "property as plain string", give: []edit{set("/order/dishes/0/properties/taste", "辣 | 麻")}},
	{name: "128 Chinese characters", give: []edit{set("/order/dishes/0/name", long("锅", 128))}},
	{name: "zero amounts", give: []edit{set("/order/total_amount", 0), set("/order/discount_amount", 0), set("/order/user_amount", 0), set("/order/dishes/0/price", 0)}},
	{name: "channel mode", mode: ModeChannel},
	{name: "HTML characters and escapes", give: []edit{set("/order/dishes/0/name", "A&B <特价> \"x\"\n\\")}},

	// Envelope fields.
	{name: "event_id missing", give: []edit{del("/event_id")}, want: []Violation{v("/event_id", "is required")}},
	{name: "event_id empty", give: []edit{set("/event_id", "")}, want: []Violation{v("/event_id", "must not be empty")}},
	{name: "event_id too long", give: []edit{set("/event_id", long("e", 65))}, want: []Violation{v("/event_id", "at most 64 characters, got 65")}},
	{name: "event_id with an emoji (not sent)", give: []edit{set("/event_id", "evt-🎂")}},
	{name: "event_id not a string", give: []edit{set("/event_id", 7)}, want: []Violation{v("/event_id", "must be a string")}},
	{name: "unknown event type", give: []edit{set("/event_type", "order.payed")}, want: []Violation{v("/event_type", `unknown event type "order.payed"`)}},
	{name: "event_type missing", give: []edit{del("/event_type")}, want: []Violation{v("/event_type", "is required")}},
	{name: "occurred_at without offset", give: []edit{set("/occurred_at", "2026-11-26T12:30:05")}, want: []Violation{v("/occurred_at", "RFC 3339")}},
	{name: "occurred_at offset without colon", give: []edit{set("/occurred_at", "2026-11-26T12:30:05+0800")}, want: []Violation{v("/occurred_at", "RFC 3339")}},
	{name: "occurred_at space separator", give: []edit{set("/occurred_at", "2026-11-26 12:30:05+08:00")}, want: []Violation{v("/occurred_at", "RFC 3339")}},
	{name: "occurred_at impossible date", give: []edit{set("/occurred_at", "2026-02-30T12:30:05+08:00")}, want: []Violation{v("/occurred_at", "RFC 3339")}, goOnly: true},
	{name: "occurred_at missing", give: []edit{del("/occurred_at")}, want: []Violation{v("/occurred_at", "is required")}},

	// Merchant and customer.
	{name: "merchant missing", give: []edit{del("/merchant")}, want: []Violation{v("/merchant", "is required")}},
	{name: "merchant not an object", give: []edit{set("/merchant", "1900000100")}, want: []Violation{v("/merchant", "must be an object")}},
	{name: "sub_mchid missing", give: []edit{del("/merchant/sub_mchid")}, want: []Violation{v("/merchant/sub_mchid", "is required")}},
	{name: "sub_mchid too long", give: []edit{set("/merchant/sub_mchid", long("1", 33))}, want: []Violation{v("/merchant/sub_mchid", "at most 32")}},
	{name: "shop_no missing", give: []edit{del("/merchant/shop_no")}, want: []Violation{v("/merchant/shop_no", "is required")}},
	{name: "sp_mchid override too long", give: []edit{set("/merchant/sp_mchid", long("9", 33))}, want: []Violation{v("/merchant/sp_mchid", "at most 32")}},
	{name: "openid and sub_openid", give: []edit{set("/customer/openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")}, want: []Violation{v("/customer/sub_openid", "exactly one")}},
	{name: "neither openid nor sub_openid", give: []edit{del("/customer/sub_openid")}, want: []Violation{v("/customer/sub_openid", "exactly one")}},
	{name: "sub_openid without sub_appid", give: []edit{del("/merchant/sub_appid")}, want: []Violation{v("/merchant/sub_appid", "required when sub_openid")}},
	{name: "login_token missing", give: []edit{del("/customer/login_token")}, want: []Violation{v("/customer/login_token", "is required")}},
	{name: "login_token null counts as absent", give: []edit{set("/customer/login_token", nil)}, want: []Violation{v("/customer/login_token", "is required")}},
	{name: "login_token too long", give: []edit{set("/customer/login_token", long("t", 257))}, want: []Violation{v("/customer/login_token", "at most 256 characters, got 257")}},
	{name: "channel: openid not allowed", mode: ModeChannel, give: []edit{set("/customer/openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"), del("/customer/sub_openid")},
		want: []Violation{v("/customer/openid", "not allowed in channel mode"), v("/customer/sub_openid", "required in channel mode")}, goOnly: true},
	{name: "channel: sub_appid required", mode: ModeChannel, give: []edit{del("/merchant/sub_appid")}, want: []Violation{v("/merchant/sub_appid", "is required")}},

	// Order.
	{name: "order_no missing", give: []edit{del("/order/order_no")}, want: []Violation{v("/order/order_no", "is required")}},
	{name: "order_no too long", give: []edit{set("/order/order_no", long("1", 65))}, want: []Violation{v("/order/order_no", "at most 64")}},
	{name: "entry missing", give: []edit{del("/order/entry")}, want: []Violation{v("/order/entry", "is required")}},
	{name: "entry too long", give: []edit{set("/order/entry", long("p", 257))}, want: []Violation{v("/order/entry", "at most 256")}},
	{name: "table_no too long", give: []edit{set("/order/table_no", long("T", 17))}, want: []Violation{v("/order/table_no", "at most 16")}},
	{name: "table_no empty", give: []edit{set("/order/table_no", "")}, want: []Violation{v("/order/table_no", "must not be empty")}},
	{name: "people_count zero", give: []edit{set("/order/people_count", 0)}, want: []Violation{v("/order/people_count", "at least 1")}},
	{name: "total negative", give: []edit{set("/order/total_amount", -1)}, want: []Violation{v("/order/total_amount", "must not be negative")}},
	{name: "total a fraction", give: []edit{set("/order/total_amount", num("1000.5"))}, want: []Violation{v("/order/total_amount", "must be an integer")}},
	{name: "total 1e-1", give: []edit{set("/order/total_amount", num("1e-1"))}, want: []Violation{v("/order/total_amount", "must be an integer")}},
	{name: "total beyond int64", give: []edit{set("/order/total_amount", num("9223372036854775808"))}, want: []Violation{v("/order/total_amount", "64-bit integer range")}},
	{name: "total huge exponent", give: []edit{set("/order/total_amount", num("1e999999999999"))}, want: []Violation{v("/order/total_amount", "64-bit integer range")}, noSchema: true},
	{name: "total a string", give: []edit{set("/order/total_amount", "1000")}, want: []Violation{v("/order/total_amount", "must be an integer")}},
	{name: "discount above total", give: []edit{set("/order/discount_amount", 1001)}, want: []Violation{v("/order/discount_amount", "must not exceed total_amount")}, goOnly: true},
	{name: "user above total", give: []edit{set("/order/user_amount", 1001)}, want: []Violation{v("/order/user_amount", "must not exceed total_amount")}, goOnly: true},
	{name: "dishes missing", give: []edit{del("/order/dishes")}, want: []Violation{v("/order/dishes", "is required")}},
	{name: "dishes empty", give: []edit{set("/order/dishes", []any{})}, want: []Violation{v("/order/dishes", "at least one dish")}},
	{name: "dish null", give: []edit{set("/order/dishes/1", nil)}, want: []Violation{v("/order/dishes/1", "must be an object")}},

	// Dishes.
	{name: "dish_no too long", give: []edit{set("/order/dishes/0/dish_no", long("d", 49))}, want: []Violation{v("/order/dishes/0/dish_no", "at most 48")}},
	{name: "name too long", give: []edit{set("/order/dishes/1/name", long("虾", 129))}, want: []Violation{v("/order/dishes/1/name", "at most 128 characters, got 129")}},
	{name: "name with emoji", give: []edit{set("/order/dishes/0/name", "生日蛋糕🎂")}, want: []Violation{v("/order/dishes/0/name", "4-byte")}, goOnly: true},
	{name: "name with escaped emoji", giveRaw: strings.Replace(baseEvent, `"清汤锅底"`, `"\ud83c\udf82"`, 1), want: []Violation{v("/order/dishes/0/name", "4-byte")}, goOnly: true},
	{name: "price missing", give: []edit{del("/order/dishes/1/price")}, want: []Violation{v("/order/dishes/1/price", "is required")}},
	{name: "price negative", give: []edit{set("/order/dishes/1/price", -5)}, want: []Violation{v("/order/dishes/1/price", "must not be negative")}},
	{name: "unit unknown", give: []edit{set("/order/dishes/0/unit", "BY_PLATE")}, want: []Violation{v("/order/dishes/0/unit", `"BY_PLATE" must be BY_SHARE or BY_WEIGHT`)}},
	{name: "count zero", give: []edit{set("/order/dishes/0/count", 0)}, want: []Violation{v("/order/dishes/0/count", "greater than 0")}},
	{name: "count negative", give: []edit{set("/order/dishes/0/count", num("-1.5"))}, want: []Violation{v("/order/dishes/0/count", "greater than 0")}},
	{name: "count three decimals", give: []edit{set("/order/dishes/0/count", num("1.255"))}, want: []Violation{v("/order/dishes/0/count", "at most 2 decimal places")}},
	{name: "count too many digits", give: []edit{set("/order/dishes/0/count", num("1e16"))}, want: []Violation{v("/order/dishes/0/count", "at most 15 digits")}},
	{name: "count a string", give: []edit{set("/order/dishes/0/count", "1")}, want: []Violation{v("/order/dishes/0/count", "must be a number")}},
	{name: "count missing", give: []edit{del("/order/dishes/0/count")}, want: []Violation{v("/order/dishes/0/count", "is required")}},
	{name: "discount zero", give: []edit{set("/order/dishes/0/discount", 0)}, want: []Violation{v("/order/dishes/0/discount", "between 1 and 100")}},
	{name: "discount above 100", give: []edit{set("/order/dishes/0/discount", 101)}, want: []Violation{v("/order/dishes/0/discount", "between 1 and 100")}},
	{name: "priority zero", give: []edit{set("/order/dishes/0/priority", 0)}, want: []Violation{v("/order/dishes/0/priority", "between 1 and 100")}},
	{name: "priority above 100", give: []edit{set("/order/dishes/0/priority", 101)}, want: []Violation{v("/order/dishes/0/priority", "between 1 and 100")}},
	{name: "category correctly spelled Guangdong", give: []edit{set("/order/dishes/0/category", "GUANGDONG_CUISINE")}, want: []Violation{v("/order/dishes/0/category", "GUAGNDONG_CUISINE")}},
	{name: "category unknown", give: []edit{set("/order/dishes/0/category", "PIZZA")}, want: []Violation{v("/order/dishes/0/category", `"PIZZA" is not in the documented list`)}},
	{name: "properties missing taste", give: []edit{del("/order/dishes/0/properties/taste")}, want: []Violation{v("/order/dishes/0/properties/taste", "required when properties is present")}},
	{name: "properties empty object", give: []edit{set("/order/dishes/0/properties", map[string]any{})},
		want: []Violation{v("/order/dishes/0/properties/taste", "required"), v("/order/dishes/0/properties/cuisine", "required"),
			v("/order/dishes/0/properties/main_material", "required"), v("/order/dishes/0/properties/ingredients", "required")}},
	{name: "property empty array", give: []edit{set("/order/dishes/0/properties/cuisine", []any{})}, want: []Violation{v("/order/dishes/0/properties/cuisine", "must not be empty")}},
	{name: "property element not a string", give: []edit{set("/order/dishes/0/properties/ingredients", []any{"葱", 3})}, want: []Violation{v("/order/dishes/0/properties/ingredients/1", "must be a string")}},
	{name: "property a number", give: []edit{set("/order/dishes/0/properties/others", 3)}, want: []Violation{v("/order/dishes/0/properties/others", "string or an array of strings")}},
	{name: "property joined too long", give: []edit{set("/order/dishes/0/properties/ingredients", []any{long("葱", 63), long("姜", 63)})}, want: []Violation{v("/order/dishes/0/properties/ingredients", `at most 128 characters once joined with " | ", got 129`)}, goOnly: true},
	{name: "property string too long", give: []edit{set("/order/dishes/0/properties/taste", long("辣", 129))}, want: []Violation{v("/order/dishes/0/properties/taste", "at most 128")}},
	{name: "property emoji", give: []edit{set("/order/dishes/0/properties/others", []any{"🌶"})}, want: []Violation{v("/order/dishes/0/properties/others/0", "4-byte")}, goOnly: true},

	// Payment.
	{name: "paid without payment", give: []edit{del("/payment")}, want: []Violation{v("/payment", "required for order.paid")}},
	{name: "paid without transaction_id", give: []edit{del("/payment/transaction_id")}, want: []Violation{v("/payment/transaction_id", "is required")}},
	{name: "paid without out_trade_no", give: []edit{set("/payment/out_trade_no", nil)}, want: []Violation{v("/payment/out_trade_no", "is required")}},
	{name: "paid_at not RFC 3339", give: []edit{set("/payment/paid_at", "1764131404")}, want: []Violation{v("/payment/paid_at", "RFC 3339")}},
	{name: "transaction_id too long", give: []edit{set("/payment/transaction_id", long("4", 65))}, want: []Violation{v("/payment/transaction_id", "at most 64")}},

	// Several at once, in a stable order.
	{name: "all violations reported", give: []edit{del("/event_id"), set("/order/dishes/0/unit", "KG"), set("/order/dishes/1/count", num("0.001")), del("/payment/paid_at")},
		want: []Violation{v("/event_id", "is required"), v("/order/dishes/0/unit", "must be BY_SHARE"), v("/order/dishes/1/count", "2 decimal"), v("/payment/paid_at", "is required")}},

	// Byte level.
	{name: "duplicate key", giveRaw: strings.Replace(baseEvent, `"total_amount": 1000,`, `"total_amount": 1000, "total_amount": 1,`, 1), want: []Violation{v("/order/total_amount", "duplicate key")}, goOnly: true},
	{name: "duplicate escaped key", giveRaw: strings.Replace(baseEvent, `"shop_no": "6895"`, `"shop_no": "6895", "shop\u005fno": "1"`, 1), want: []Violation{v("/merchant/shop_no", "duplicate key")}, goOnly: true},
	{name: "invalid UTF-8", giveRaw: strings.Replace(baseEvent, "基围虾", "\xff\xfe", 1), want: []Violation{v("/order/dishes/1/name", "invalid UTF-8")}, goOnly: true, noSchema: true},
	{name: "lone surrogate", giveRaw: strings.Replace(baseEvent, "基围虾", `\ud800`, 1), want: []Violation{v("/order/dishes/1/name", "surrogate")}, goOnly: true, noSchema: true},
	{name: "trailing garbage", giveRaw: baseEvent + "x", want: []Violation{v("", "after the JSON value")}, goOnly: true, noSchema: true},
	{name: "not an object", giveRaw: `[1]`, want: []Violation{v("", "must be a JSON object")}},
}

func TestMapRules(t *testing.T) {
	for _, c := range ruleCases {
		t.Run(c.name, func(t *testing.T) {
			m := testMapper(t, c.mode)
			res, err := m.Map(c.value(t), nil)
			if c.want != nil {
				wantViolations(t, err, c.want)
				if res.Body != nil {
					t.Errorf("invalid event has a body")
				}
				return
			}
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if vs := checkBody(m.Mode(), res.Body); len(vs) > 0 {
				t.Errorf("body %s breaks %v", res.Body, vs)
			}
		})
	}
}

func TestMapSpAppIDWithoutDefault(t *testing.T) {
	m, err := New(Config{Mode: ModeServiceProvider, MchID: "1900000001"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Map(build(t, ""), nil)
	wantViolations(t, err, []Violation{v("/merchant/sp_appid", "no default")})
}

func TestMapChannelWithoutDefault(t *testing.T) {
	m, err := New(Config{Mode: ModeChannel})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Map(build(t, ""), nil)
	wantViolations(t, err, []Violation{v("/merchant/channel_id", "no default")})
	res, err := m.Map(build(t, "", set("/merchant/channel_id", "1900000077")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(res.Body), `{"channel_id":"1900000077","sub_mchid"`) {
		t.Errorf("body = %s", res.Body)
	}
}

func TestMapOutput(t *testing.T) {
	m := testMapper(t, "")
	res, err := m.Map(build(t, "",
		set("/occurred_at", "2026-11-26T04:30:05.999Z"),
		set("/order/dishes/0/count", num("1.50")),
		set("/order/dishes/1/count", num("12.5e-1")),
		set("/order/dishes/0/name", "A&B <特价>\u2028"),
		set("/order/total_amount", num("1e3")),
	), nil)
	if err != nil {
		t.Fatal(err)
	}
	body := string(res.Body)
	for _, want := range []string{
		`"action_time":"2026-11-26T12:30:05+08:00"`,
		`"pay_time":"2026-11-26T12:30:04+08:00"`,
		`"count":1.5,`,
		`"count":1.25}`,
		`"name":"A&B <特价>\u2028"`,
		`"total_amount":1000,`,
		`"ingredients":"青椒 | 辣椒 | 葱 | 八角"`,
		`"type":"HOT_POT"`,
		`"out_table_no":"1"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "null") || strings.HasSuffix(body, "\n") || !json.Valid(res.Body) {
		t.Errorf("body not compact valid JSON without null: %s", body)
	}
	if res.Status != StatusPaySuccess || res.EventID != "evt-20261126-000123" || res.OrderNo != "20150806125346" ||
		res.EventType != TypePaid || res.OccurredAt.Unix() != 1795667405 {
		t.Errorf("result = %+v", res)
	}

	res, err = m.Map(build(t, "", set("/event_type", "order.created"), del("/order/table_no"), del("/order/people_count"),
		del("/order/dishes/0/properties"), del("/order/dishes/0/discount"), del("/order/dishes/0/category"), del("/order/dishes/0/priority")), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"pay_time", "transaction_id", "out_trade_no", "out_table_no", "people_count", "properties", "discount\"", "type", "priority"} {
		if strings.Contains(string(res.Body), `"`+absent) {
			t.Errorf("created body has %s: %s", absent, res.Body)
		}
	}
	if res.Status != StatusCreateDeal {
		t.Errorf("status = %s", res.Status)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		give    Config
		wantErr string
	}{
		{name: "service provider", give: Config{Mode: ModeServiceProvider, MchID: "1900000001"}},
		{name: "channel", give: Config{Mode: ModeChannel, ChannelID: "1900000002"}},
		{name: "unknown mode", give: Config{Mode: "partner"}, wantErr: `unknown mode "partner"`},
		{name: "empty mode", give: Config{}, wantErr: "unknown mode"},
		{name: "long sp_appid", give: Config{Mode: ModeServiceProvider, SpAppID: long("w", 33)}, wantErr: "sp_appid must be at most 32"},
		{name: "negative size", give: Config{Mode: ModeChannel, MaxValueBytes: -1}, wantErr: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.give)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, tt := range []struct {
		give    string
		want    Mode
		wantErr bool
	}{
		{give: "service_provider", want: ModeServiceProvider},
		{give: "channel", want: ModeChannel},
		{give: "Channel", wantErr: true},
		{give: "", wantErr: true},
	} {
		got, err := ParseMode(tt.give)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseMode(%q) = %q, %v", tt.give, got, err)
		}
	}
}
