package mapper

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ValidatePayload checks a sync-status request body against the API's rules
// for mode, independently of how Map built it: it decodes the body with
// encoding/json and applies the field tables of the spec. Field in each
// Violation is a JSON pointer into the body. An empty result means the body
// is acceptable. It is meant for tests and tooling; Map already guarantees
// its bodies pass.
func ValidatePayload(mode Mode, body []byte) []Violation {
	var c payloadChecker
	if !utf8.Valid(body) {
		return []Violation{{Reason: "body is not valid UTF-8"}}
	}
	v, err := decodeStrict(json.NewDecoder(bytes.NewReader(body)))
	if err != nil {
		return []Violation{{Reason: "body is not acceptable JSON: " + err.Error()}}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []Violation{{Reason: "body must be a JSON object"}}
	}
	c.top(mode, obj)
	return c.vs
}

// decodeStrict decodes one JSON value with numbers kept as json.Number,
// rejecting duplicate keys and trailing data.
func decodeStrict(d *json.Decoder) (any, error) {
	d.UseNumber()
	v, err := decodeValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the value")
	}
	return v, nil
}

func decodeValue(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("duplicate key %q", k)
				}
				if m[k], err = decodeValue(d); err != nil {
					return nil, err
				}
			}
			_, err := d.Token()
			return m, err
		case '[':
			a := []any{}
			for d.More() {
				e, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				a = append(a, e)
			}
			_, err := d.Token()
			return a, err
		}
	}
	return tok, nil
}

type payloadChecker struct{ vs []Violation }

func (c *payloadChecker) bad(ptr, format string, args ...any) {
	c.vs = append(c.vs, Violation{Field: ptr, Reason: fmt.Sprintf(format, args...)})
}

// spec of one string field: maximum characters and an optional enum.
type stringSpec struct {
	max  int
	enum []string
}

var (
	payloadStrings = map[string]stringSpec{
		"sp_mchid": {max: 32}, "sp_appid": {max: 32}, "channel_id": {max: 32}, "sub_mchid": {max: 32},
		"sub_appid": {max: 32}, "out_shop_no": {max: 32}, "openid": {max: 32}, "sub_openid": {max: 32},
		"login_token": {max: 256}, "order_entry": {max: 256}, "status": {max: 32, enum: []string{"CREATE_DEAL", "PAY_SUCCESS"}},
		"action_time": {max: 64}, "pay_time": {max: 64}, "transaction_id": {max: 64}, "out_trade_no": {max: 64},
		"out_order_no": {max: 64}, "out_table_no": {max: 16},
	}
	payloadInts  = []string{"total_amount", "discount_amount", "user_amount", "people_count"}
	dishStrings  = map[string]stringSpec{"out_dish_no": {max: 48}, "name": {max: 128}, "unit": {max: 16, enum: []string{"BY_SHARE", "BY_WEIGHT"}}, "type": {max: 32, enum: categories}}
	dishInts     = map[string][2]int64{"price": {0, 1<<63 - 1}, "discount": {1, 100}, "priority": {1, 100}}
	propRequired = []string{"taste", "cuisine", "main_material", "ingredients"}
)

func (c *payloadChecker) top(mode Mode, o map[string]any) {
	required := []string{"sub_mchid", "out_shop_no", "login_token", "order_entry", "total_amount",
		"discount_amount", "user_amount", "status", "action_time", "out_order_no", "dish_list"}
	var forbidden []string
	switch mode {
	case ModeServiceProvider:
		required = append(required, "sp_mchid", "sp_appid")
		forbidden = []string{"channel_id"}
		_, open := o["openid"]
		_, sub := o["sub_openid"]
		if open == sub {
			c.bad("/openid", "exactly one of openid and sub_openid is required in service-provider mode")
		}
		if _, app := o["sub_appid"]; sub && !app {
			c.bad("/sub_appid", "is required with sub_openid")
		}
	case ModeChannel:
		required = append(required, "channel_id", "sub_appid", "sub_openid")
		forbidden = []string{"sp_mchid", "sp_appid", "openid"}
	default:
		c.bad("", "unknown mode %q", mode)
		return
	}
	if o["status"] == "PAY_SUCCESS" {
		required = append(required, "pay_time", "transaction_id", "out_trade_no")
	} else {
		forbidden = append(forbidden, "pay_time", "transaction_id", "out_trade_no")
	}
	for _, k := range required {
		if _, ok := o[k]; !ok {
			c.bad("/"+k, "is required")
		}
	}
	for _, k := range forbidden {
		if _, ok := o[k]; ok {
			c.bad("/"+k, "must not be sent")
		}
	}
	ints := map[string]int64{}
	for k, v := range o {
		switch {
		case payloadStrings[k].max > 0:
			c.str("/"+k, v, payloadStrings[k])
		case k == "dish_list":
			c.dishes(v)
		default:
			isInt := false
			for _, n := range payloadInts {
				isInt = isInt || n == k
			}
			if !isInt {
				c.bad("/"+k, "is not a sync-status field")
				continue
			}
			lo := int64(0)
			if k == "people_count" {
				lo = 1
			}
			if n, ok := c.integer("/"+k, v, lo, 1<<63-1); ok {
				ints[k] = n
			}
		}
	}
	for _, k := range []string{"action_time", "pay_time"} {
		if s, ok := o[k].(string); ok && !isBeijingSeconds(s) {
			c.bad("/"+k, "must be 2006-01-02T15:04:05+08:00")
		}
	}
	if t, ok := ints["total_amount"]; ok {
		for _, k := range []string{"discount_amount", "user_amount"} {
			if n, ok := ints[k]; ok && n > t {
				c.bad("/"+k, "exceeds total_amount")
			}
		}
	}
}

func isBeijingSeconds(s string) bool {
	t, err := time.Parse("2006-01-02T15:04:05Z07:00", s)
	return err == nil && strings.HasSuffix(s, "+08:00") && len(s) == 25 && t.Format("2006-01-02T15:04:05-07:00") == s
}

func (c *payloadChecker) str(ptr string, v any, spec stringSpec) {
	s, ok := v.(string)
	switch {
	case !ok:
		c.bad(ptr, "must be a string")
	case s == "":
		c.bad(ptr, "must not be empty")
	case utf8.RuneCountInString(s) > spec.max:
		c.bad(ptr, "longer than %d characters", spec.max)
	case strings.ContainsFunc(s, func(r rune) bool { return r > 0xffff }):
		c.bad(ptr, "has a 4-byte UTF-8 character")
	case spec.enum != nil:
		for _, e := range spec.enum {
			if s == e {
				return
			}
		}
		c.bad(ptr, "not in %v", spec.enum)
	}
}

func (c *payloadChecker) integer(ptr string, v any, lo, hi int64) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		c.bad(ptr, "must be a number")
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || i < lo || i > hi {
		c.bad(ptr, "must be a plain integer in [%d, %d]", lo, hi)
		return 0, false
	}
	return i, true
}

func (c *payloadChecker) dishes(v any) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		c.bad("/dish_list", "must be a non-empty array")
		return
	}
	for i, e := range list {
		ptr := "/dish_list/" + strconv.Itoa(i)
		d, ok := e.(map[string]any)
		if !ok {
			c.bad(ptr, "must be an object")
			continue
		}
		for _, k := range []string{"out_dish_no", "name", "price", "unit", "count"} {
			if _, ok := d[k]; !ok {
				c.bad(ptr+"/"+k, "is required")
			}
		}
		for k, v := range d {
			switch {
			case dishStrings[k].max > 0:
				c.str(ptr+"/"+k, v, dishStrings[k])
			case k == "count":
				c.count(ptr+"/count", v)
			case k == "properties":
				c.properties(ptr+"/properties", v)
			default:
				r, ok := dishInts[k]
				if !ok {
					c.bad(ptr+"/"+k, "is not a dish field")
					continue
				}
				c.integer(ptr+"/"+k, v, r[0], r[1])
			}
		}
	}
}

// count must be a positive decimal, at most 2 decimals, normalised (no
// exponent, no trailing fraction zeros), at most 15 digits.
func (c *payloadChecker) count(ptr string, v any) {
	n, ok := v.(json.Number)
	s := string(n)
	intPart, frac, hasFrac := strings.Cut(s, ".")
	switch {
	case !ok:
		c.bad(ptr, "must be a number")
	case strings.ContainsAny(s, "eE-+"), intPart == "", len(intPart) > 1 && intPart[0] == '0':
		c.bad(ptr, "must be a plain positive decimal")
	case hasFrac && (len(frac) == 0 || len(frac) > 2 || strings.HasSuffix(frac, "0")):
		c.bad(ptr, "must have 1 or 2 significant decimals")
	case len(intPart)+len(frac) > 15:
		c.bad(ptr, "has more than 15 digits")
	case strings.Trim(s, "0.") == "":
		c.bad(ptr, "must be greater than 0")
	}
}

func (c *payloadChecker) properties(ptr string, v any) {
	p, ok := v.(map[string]any)
	if !ok {
		c.bad(ptr, "must be an object")
		return
	}
	for _, k := range propRequired {
		if _, ok := p[k]; !ok {
			c.bad(ptr+"/"+k, "is required")
		}
	}
	for k, v := range p {
		if k != "others" && !slices.Contains(propRequired, k) {
			c.bad(ptr+"/"+k, "is not a properties field")
			continue
		}
		c.str(ptr+"/"+k, v, stringSpec{max: 128})
	}
}
