package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is the sandbox's own server-side checker of the sync-status
// body (the API's field rules, as docs/events.md lists them). It is deliberately independent of
// internal/mapper so that a mapper bug cannot hide behind a shared rule.
//
// Rules: exactly one of sp_mchid / channel_id selects the mode; every field
// of the mode's table is checked for type, length (characters) and enum;
// fields of the other mode and unknown fields are rejected; PAY_SUCCESS
// requires pay_time, transaction_id and out_trade_no; no JSON null; no
// 4-byte UTF-8 character; integers are integral literals ≥ 0; count > 0
// with at most two decimals; discount and priority 1–100; properties, when
// present, carries taste, cuisine, main_material and ingredients.

// Violation is the first rule a body breaks: a JSON pointer and an issue.
type Violation struct {
	Field string `json:"field"`
	Issue string `json:"issue"`
}

type kind int

const (
	kString kind = iota
	kInt
	kTime
	kArray
	kOther // checked by a dedicated function
)

type fieldSpec struct {
	name string
	kind kind
	max  int      // maximum characters, strings only
	enum []string // allowed values, strings only
	min  int64    // minimum, integers only
}

var orderFields = []fieldSpec{
	{name: "sp_mchid", kind: kString, max: 32},
	{name: "channel_id", kind: kString, max: 32},
	{name: "sub_mchid", kind: kString, max: 32},
	{name: "sp_appid", kind: kString, max: 32},
	{name: "sub_appid", kind: kString, max: 32},
	{name: "out_shop_no", kind: kString, max: 32},
	{name: "openid", kind: kString, max: 32},
	{name: "sub_openid", kind: kString, max: 32},
	{name: "login_token", kind: kString, max: 256},
	{name: "order_entry", kind: kString, max: 256},
	{name: "total_amount", kind: kInt},
	{name: "discount_amount", kind: kInt},
	{name: "user_amount", kind: kInt},
	{name: "status", kind: kString, max: 32, enum: []string{"CREATE_DEAL", "PAY_SUCCESS"}},
	{name: "action_time", kind: kTime, max: 64},
	{name: "pay_time", kind: kTime, max: 64},
	{name: "transaction_id", kind: kString, max: 64},
	{name: "out_trade_no", kind: kString, max: 64},
	{name: "out_order_no", kind: kString, max: 64},
	{name: "out_table_no", kind: kString, max: 16},
	{name: "people_count", kind: kInt},
	{name: "dish_list", kind: kArray},
}

var commonRequired = []string{
	"sub_mchid", "out_shop_no", "login_token", "order_entry", "total_amount",
	"discount_amount", "user_amount", "status", "action_time", "out_order_no", "dish_list",
}

// DishTypes is the documented dish category list, official typo included.
var DishTypes = []string{
	"FAST_FOOD", "DRINK", "YOYO", "BEIJING_CUISINE", "SICHUAN_CUISINE", "DONGBEI_CUISINE",
	"SOUTHEAST_ASIAN_CUISINE", "SEAFOOD", "KOREAN_CUISINE", "HUBEI_CUISINE", "HOT_POT",
	"JIANGZHE_CUISINE", "JAPANESE_CUISINE", "BARBECUE", "NORTHWEST_CUISINE", "WESTERN_FOOD",
	"HUNAN_CUISINE", "SNACK", "XINJIANG_CUISINE", "GUAGNDONG_CUISINE", "YUNNAN_CUISINE",
	"BUFFET", "SHANDONG_CUISINE", "HALAL_FOOD",
}

var dishFields = []fieldSpec{
	{name: "out_dish_no", kind: kString, max: 48},
	{name: "name", kind: kString, max: 128},
	{name: "price", kind: kInt},
	{name: "unit", kind: kString, max: 16, enum: []string{"BY_SHARE", "BY_WEIGHT"}},
	{name: "count", kind: kOther}, // checkCount
	{name: "discount", kind: kInt, min: 1},
	{name: "type", kind: kString, max: 32, enum: DishTypes},
	{name: "priority", kind: kInt, min: 1},
	{name: "properties", kind: kOther}, // checkProperties
}

var propertyFields = []fieldSpec{
	{name: "taste", kind: kString, max: 128},
	{name: "cuisine", kind: kString, max: 128},
	{name: "main_material", kind: kString, max: 128},
	{name: "ingredients", kind: kString, max: 128},
	{name: "others", kind: kString, max: 128},
}

var timeShape = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?(Z|[+-]\d{2}:\d{2})$`)

// ValidateOrder checks a sync-status body and returns the first violation,
// or nil when the body is acceptable.
func ValidateOrder(body []byte) *Violation {
	if !utf8.Valid(body) {
		return &Violation{Field: "", Issue: "body is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return &Violation{Field: "", Issue: "body is not valid JSON"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Violation{Field: "", Issue: "trailing data after the JSON object"}
	}
	if v := walkValues("", doc); v != nil {
		return v
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return &Violation{Field: "", Issue: "body must be a JSON object"}
	}
	if v := checkObject("", obj, orderFields); v != nil {
		return v
	}
	if v := checkMode(obj); v != nil {
		return v
	}
	if obj["status"] == "PAY_SUCCESS" {
		for _, f := range []string{"pay_time", "transaction_id", "out_trade_no"} {
			if _, ok := obj[f]; !ok {
				return &Violation{Field: "/" + f, Issue: "required when status is PAY_SUCCESS"}
			}
		}
	}
	dishes := obj["dish_list"].([]any)
	if len(dishes) == 0 {
		return &Violation{Field: "/dish_list", Issue: "at least one dish is required"}
	}
	for i, d := range dishes {
		if v := checkDish(fmt.Sprintf("/dish_list/%d", i), d); v != nil {
			return v
		}
	}
	return nil
}

func checkMode(obj map[string]any) *Violation {
	_, sp := obj["sp_mchid"]
	_, ch := obj["channel_id"]
	var required, forbidden []string
	switch {
	case sp && ch:
		return &Violation{Field: "/channel_id", Issue: "sp_mchid and channel_id are mutually exclusive"}
	case !sp && !ch:
		return &Violation{Field: "/sp_mchid", Issue: "one of sp_mchid (service provider) or channel_id (channel) is required"}
	case sp:
		required = append([]string{"sp_mchid", "sp_appid"}, commonRequired...)
	default:
		required = append([]string{"channel_id", "sub_appid", "sub_openid"}, commonRequired...)
		forbidden = []string{"sp_appid", "openid"}
	}
	for _, f := range forbidden {
		if _, ok := obj[f]; ok {
			return &Violation{Field: "/" + f, Issue: "not a field of the channel mode"}
		}
	}
	for _, f := range required {
		if _, ok := obj[f]; !ok {
			return &Violation{Field: "/" + f, Issue: "required"}
		}
	}
	if sp {
		_, o := obj["openid"]
		_, so := obj["sub_openid"]
		switch {
		case o && so:
			return &Violation{Field: "/sub_openid", Issue: "send openid or sub_openid, not both"}
		case !o && !so:
			return &Violation{Field: "/openid", Issue: "one of openid or sub_openid is required"}
		case so:
			if _, ok := obj["sub_appid"]; !ok {
				return &Violation{Field: "/sub_appid", Issue: "required when sub_openid is sent"}
			}
		}
	}
	return nil
}

func checkDish(ptr string, d any) *Violation {
	obj, ok := d.(map[string]any)
	if !ok {
		return &Violation{Field: ptr, Issue: "must be an object"}
	}
	if v := checkObject(ptr, obj, dishFields); v != nil {
		return v
	}
	for _, f := range []string{"out_dish_no", "name", "price", "unit", "count"} {
		if _, ok := obj[f]; !ok {
			return &Violation{Field: ptr + "/" + f, Issue: "required"}
		}
	}
	if v := checkCount(ptr+"/count", obj["count"]); v != nil {
		return v
	}
	for _, f := range []string{"discount", "priority"} {
		if n, ok := obj[f].(json.Number); ok {
			if i, _ := n.Int64(); i > 100 {
				return &Violation{Field: ptr + "/" + f, Issue: "must be between 1 and 100"}
			}
		}
	}
	if p, ok := obj["properties"]; ok {
		return checkProperties(ptr+"/properties", p)
	}
	return nil
}

func checkProperties(ptr string, p any) *Violation {
	obj, ok := p.(map[string]any)
	if !ok {
		return &Violation{Field: ptr, Issue: "must be an object"}
	}
	if v := checkObject(ptr, obj, propertyFields); v != nil {
		return v
	}
	for _, f := range []string{"taste", "cuisine", "main_material", "ingredients"} {
		if _, ok := obj[f]; !ok {
			return &Violation{Field: ptr + "/" + f, Issue: "required when properties is sent"}
		}
	}
	return nil
}

func checkCount(ptr string, v any) *Violation {
	n, ok := v.(json.Number)
	if !ok {
		return &Violation{Field: ptr, Issue: "must be a number"}
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok || r.Sign() <= 0 {
		return &Violation{Field: ptr, Issue: "must be greater than 0"}
	}
	if !new(big.Rat).Mul(r, big.NewRat(100, 1)).IsInt() {
		return &Violation{Field: ptr, Issue: "at most 2 decimal places"}
	}
	return nil
}

// checkObject rejects unknown keys and checks the type, length and enum of
// each known key that is present, in spec order.
func checkObject(ptr string, obj map[string]any, specs []fieldSpec) *Violation {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.ContainsFunc(specs, func(s fieldSpec) bool { return s.name == k }) {
			return &Violation{Field: ptr + "/" + escapePointer(k), Issue: "unknown field"}
		}
	}
	for _, s := range specs {
		v, ok := obj[s.name]
		if !ok {
			continue
		}
		if viol := checkValue(ptr+"/"+s.name, s, v); viol != nil {
			return viol
		}
	}
	return nil
}

func checkValue(ptr string, s fieldSpec, v any) *Violation {
	switch s.kind {
	case kString, kTime:
		str, ok := v.(string)
		if !ok {
			return &Violation{Field: ptr, Issue: "must be a string"}
		}
		n := utf8.RuneCountInString(str)
		switch {
		case n == 0:
			return &Violation{Field: ptr, Issue: "must not be empty (omit unset fields)"}
		case n > s.max:
			return &Violation{Field: ptr, Issue: fmt.Sprintf("longer than %d characters", s.max)}
		case s.enum != nil && !slices.Contains(s.enum, str):
			return &Violation{Field: ptr, Issue: "not one of " + strings.Join(s.enum, ", ")}
		case s.kind == kTime && !validTime(str):
			return &Violation{Field: ptr, Issue: "must be RFC3339 such as 2018-06-08T10:34:56+08:00"}
		}
	case kInt:
		n, ok := v.(json.Number)
		if !ok {
			return &Violation{Field: ptr, Issue: "must be an integer"}
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return &Violation{Field: ptr, Issue: "must be an integer"}
		}
		if i < s.min {
			return &Violation{Field: ptr, Issue: fmt.Sprintf("must be at least %d", s.min)}
		}
	case kArray:
		if _, ok := v.([]any); !ok {
			return &Violation{Field: ptr, Issue: "must be an array"}
		}
	}
	return nil
}

func validTime(s string) bool {
	if !timeShape.MatchString(s) {
		return false
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// walkValues rejects JSON null and 4-byte UTF-8 characters anywhere.
func walkValues(ptr string, v any) *Violation {
	switch x := v.(type) {
	case nil:
		return &Violation{Field: ptr, Issue: "null is not allowed (omit the field)"}
	case string:
		for _, r := range x {
			if r > 0xFFFF {
				return &Violation{Field: ptr, Issue: "contains a 4-byte UTF-8 character"}
			}
		}
	case []any:
		for i, e := range x {
			if viol := walkValues(fmt.Sprintf("%s/%d", ptr, i), e); viol != nil {
				return viol
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if viol := walkValues(ptr+"/"+escapePointer(k), x[k]); viol != nil {
				return viol
			}
		}
	}
	return nil
}

func escapePointer(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}
