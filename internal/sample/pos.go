package sample

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// beijing is the POS export's time zone: it writes local times without an offset.
var beijing = time.FixedZone("CST", 8*3600)

// posStates are the POS bill states of the event types.
var posStates = map[string]string{
	"order.created": "OPEN", "order.updated": "CHANGED", "order.paid": "PAID",
	"order.served": "SERVED", "order.cancelled": "VOID",
}

// ToPOS rewrites e (any of the three shapes) into the POS export shape that
// docs/mappings/pos-export/program.jq reads: amounts as yuan strings, dishes
// as items, Beijing local times, the bill state instead of the event type.
// What the converter cannot express stays broken (an unknown event type
// becomes an unknown state, an unparseable time an unparseable time), so e's
// Expect still holds after the program has run. Dish properties, discounts
// and priorities are left out; headers are dropped.
func ToPOS(e Event) (Event, error) {
	dec := json.NewDecoder(bytes.NewReader(e.Value))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return Event{}, fmt.Errorf("pos: decode %s: %w", e.EventID, err)
	}
	if ev["specversion"] != nil {
		data, _ := ev["data"].(map[string]any)
		data["event_type"], data["occurred_at"] = ev["type"], ev["time"]
		ev = data
	}
	for _, h := range e.Headers {
		switch h.Key {
		case "ce_type":
			ev["event_type"] = string(h.Value)
		case "ce_time":
			ev["occurred_at"] = string(h.Value)
		}
	}
	typ, _ := ev["event_type"].(string)
	state, ok := posStates[typ]
	if !ok {
		state = strings.ToUpper(strings.TrimPrefix(typ, "order."))
	}
	merchant, _ := ev["merchant"].(map[string]any)
	customer, _ := ev["customer"].(map[string]any)
	order, _ := ev["order"].(map[string]any)
	var items []any
	for _, d := range order["dishes"].([]any) {
		dish := d.(map[string]any)
		by := dish["unit"]
		switch by {
		case "BY_SHARE":
			by = "portion"
		case "BY_WEIGHT":
			by = "weight"
		}
		items = append(items, map[string]any{
			"sku": dish["dish_no"], "title": dish["name"], "unit_price": yuan(dish["price"]),
			"qty": dish["count"], "by": by, "category": dish["category"],
		})
	}
	rev, _ := strconv.Atoi(e.EventID[strings.LastIndexByte(e.EventID, '-')+1:])
	bill := map[string]any{
		"kind": "bill", "bill_id": order["order_no"], "rev": rev, "state": state,
		"updated_at": localTime(ev["occurred_at"]),
		"store":      map[string]any{"mch": merchant["sub_mchid"], "appid": merchant["sub_appid"], "code": merchant["shop_no"]},
		"diner":      map[string]any{"openid": customer["sub_openid"], "token": customer["login_token"]},
		"table":      order["table_no"], "guests": order["people_count"],
		"total": yuan(order["total_amount"]), "discount": yuan(order["discount_amount"]), "payable": yuan(order["user_amount"]),
		"items": items,
	}
	if p, ok := ev["payment"].(map[string]any); ok {
		bill["payment"] = map[string]any{"txn": p["transaction_id"], "paid_at": localTime(p["paid_at"])}
	}
	e.Value, e.Headers = mustJSON(bill), nil
	return e, nil
}

// yuan writes an amount in fen as a yuan string: 12850 → "128.50".
func yuan(v any) any {
	n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
	if err != nil || n < 0 {
		return v
	}
	return fmt.Sprintf("%d.%02d", n/100, n%100)
}

// localTime writes an RFC 3339 time as the POS does, "2006-01-02 15:04:05"
// in Beijing; a time that does not parse stays unparseable.
func localTime(v any) any {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return "unparseable " + s
	}
	return t.In(beijing).Format(time.DateTime)
}
