package sandbox_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
)

func spOrder() map[string]any {
	return map[string]any{
		"sp_mchid": "1230000109", "sp_appid": "wx8888888888888888", "sub_mchid": "1900000100",
		"sub_appid": "wx8888888888888888", "out_shop_no": "6895", "sub_openid": "oYobu0Dmn6TdodZnFWKOEkqoRbI8",
		"login_token": "071oYFSN19sCH31AyNSN15QDSN1oYFSA", "order_entry": "pages/menu/index",
		"total_amount": 1000, "discount_amount": 100, "user_amount": 900, "status": "PAY_SUCCESS",
		"action_time": "2026-11-26T12:30:05+08:00", "pay_time": "2026-11-26T12:30:04+08:00",
		"transaction_id": "1009660380201506130728806387", "out_trade_no": "20150806125346",
		"out_order_no": "20150806125346", "out_table_no": "1", "people_count": 2,
		"dish_list": []any{map[string]any{
			"out_dish_no": "1", "name": "清汤锅底", "price": 1, "unit": "BY_SHARE", "count": json.Number("1.5"),
			"discount": 100, "type": "HOT_POT", "priority": 1,
			"properties": map[string]any{"taste": "辣", "cuisine": "炒", "main_material": "猪肝",
				"ingredients": "青椒 | 辣椒 | 葱 | 八角", "others": "有机 | 农家"},
		}},
	}
}

func channelOrder() map[string]any {
	o := spOrder()
	delete(o, "sp_mchid")
	delete(o, "sp_appid")
	o["channel_id"] = "1230000109"
	return o
}

func dish(o map[string]any) map[string]any { return o["dish_list"].([]any)[0].(map[string]any) }

func TestValidateOrder(t *testing.T) {
	tests := []struct {
		name      string
		giveBase  func() map[string]any
		giveEdit  func(o map[string]any)
		wantField string // "" with wantOK
		wantOK    bool
	}{
		{name: "valid service provider", giveEdit: func(map[string]any) {}, wantOK: true},
		{name: "valid channel", giveBase: channelOrder, giveEdit: func(map[string]any) {}, wantOK: true},
		{name: "valid create deal without payment", giveEdit: func(o map[string]any) {
			o["status"] = "CREATE_DEAL"
			delete(o, "pay_time")
			delete(o, "transaction_id")
			delete(o, "out_trade_no")
		}, wantOK: true},
		{name: "valid openid, utc and millis", giveEdit: func(o map[string]any) {
			delete(o, "sub_openid")
			delete(o, "sub_appid")
			o["openid"] = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
			o["action_time"] = "2026-11-26T04:30:05.123Z"
		}, wantOK: true},
		{name: "valid 128 CJK characters", giveEdit: func(o map[string]any) { dish(o)["name"] = strings.Repeat("汤", 128) }, wantOK: true},
		{name: "valid minimal dish", giveEdit: func(o map[string]any) {
			o["dish_list"] = []any{map[string]any{"out_dish_no": "1", "name": "饭", "price": 0, "unit": "BY_WEIGHT", "count": 2}}
		}, wantOK: true},
		{name: "unit enum", giveEdit: func(o map[string]any) { dish(o)["unit"] = "BY_BOX" }, wantField: "/dish_list/0/unit"},
		{name: "no mode", giveEdit: func(o map[string]any) { delete(o, "sp_mchid") }, wantField: "/sp_mchid"},
		{name: "both modes", giveEdit: func(o map[string]any) { o["channel_id"] = "1" }, wantField: "/channel_id"},
		{name: "sp without openid", giveEdit: func(o map[string]any) { delete(o, "sub_openid") }, wantField: "/openid"},
		{name: "sp with both openids", giveEdit: func(o map[string]any) { o["openid"] = "x" }, wantField: "/sub_openid"},
		{name: "sub_openid without sub_appid", giveEdit: func(o map[string]any) { delete(o, "sub_appid") }, wantField: "/sub_appid"},
		{name: "sp without sp_appid", giveEdit: func(o map[string]any) { delete(o, "sp_appid") }, wantField: "/sp_appid"},
		{name: "channel with openid", giveBase: channelOrder, giveEdit: func(o map[string]any) { o["openid"] = "x" }, wantField: "/openid"},
		{name: "channel without sub_appid", giveBase: channelOrder, giveEdit: func(o map[string]any) { delete(o, "sub_appid") }, wantField: "/sub_appid"},
		{name: "pay success without pay_time", giveEdit: func(o map[string]any) { delete(o, "pay_time") }, wantField: "/pay_time"},
		{name: "pay success without transaction_id", giveEdit: func(o map[string]any) { delete(o, "transaction_id") }, wantField: "/transaction_id"},
		{name: "pay success without out_trade_no", giveEdit: func(o map[string]any) { delete(o, "out_trade_no") }, wantField: "/out_trade_no"},
		{name: "missing login_token", giveEdit: func(o map[string]any) { delete(o, "login_token") }, wantField: "/login_token"},
		{name: "missing out_shop_no", giveEdit: func(o map[string]any) { delete(o, "out_shop_no") }, wantField: "/out_shop_no"},
		{name: "login_token too long", giveEdit: func(o map[string]any) { o["login_token"] = strings.Repeat("a", 257) }, wantField: "/login_token"},
		{name: "out_shop_no too long", giveEdit: func(o map[string]any) { o["out_shop_no"] = strings.Repeat("6", 33) }, wantField: "/out_shop_no"},
		{name: "out_table_no too long", giveEdit: func(o map[string]any) { o["out_table_no"] = strings.Repeat("1", 17) }, wantField: "/out_table_no"},
		{name: "dish name too long", giveEdit: func(o map[string]any) { dish(o)["name"] = strings.Repeat("汤", 129) }, wantField: "/dish_list/0/name"},
		{name: "empty string", giveEdit: func(o map[string]any) { o["out_order_no"] = "" }, wantField: "/out_order_no"},
		{name: "status enum", giveEdit: func(o map[string]any) { o["status"] = "PAID" }, wantField: "/status"},
		{name: "time without T", giveEdit: func(o map[string]any) { o["action_time"] = "2026-11-26 12:30:05+08:00" }, wantField: "/action_time"},
		{name: "time offset without colon", giveEdit: func(o map[string]any) { o["pay_time"] = "2026-11-26T12:30:05+0800" }, wantField: "/pay_time"},
		{name: "count three decimals", giveEdit: func(o map[string]any) { dish(o)["count"] = json.Number("1.555") }, wantField: "/dish_list/0/count"},
		{name: "count zero", giveEdit: func(o map[string]any) { dish(o)["count"] = 0 }, wantField: "/dish_list/0/count"},
		{name: "count string", giveEdit: func(o map[string]any) { dish(o)["count"] = "1" }, wantField: "/dish_list/0/count"},
		{name: "amount fractional", giveEdit: func(o map[string]any) { o["total_amount"] = json.Number("10.5") }, wantField: "/total_amount"},
		{name: "amount negative", giveEdit: func(o map[string]any) { o["user_amount"] = -1 }, wantField: "/user_amount"},
		{name: "amount as string", giveEdit: func(o map[string]any) { o["discount_amount"] = "100" }, wantField: "/discount_amount"},
		{name: "null", giveEdit: func(o map[string]any) { o["out_table_no"] = nil }, wantField: "/out_table_no"},
		{name: "4-byte utf-8", giveEdit: func(o map[string]any) { dish(o)["name"] = "火锅🍲" }, wantField: "/dish_list/0/name"},
		{name: "undocumented dish type", giveEdit: func(o map[string]any) { dish(o)["type"] = "GUANGDONG_CUISINE" }, wantField: "/dish_list/0/type"},
		{name: "priority above 100", giveEdit: func(o map[string]any) { dish(o)["priority"] = 101 }, wantField: "/dish_list/0/priority"},
		{name: "discount zero", giveEdit: func(o map[string]any) { dish(o)["discount"] = 0 }, wantField: "/dish_list/0/discount"},
		{name: "properties without taste", giveEdit: func(o map[string]any) {
			delete(dish(o)["properties"].(map[string]any), "taste")
		}, wantField: "/dish_list/0/properties/taste"},
		{name: "unknown property", giveEdit: func(o map[string]any) { dish(o)["properties"].(map[string]any)["smell"] = "x" }, wantField: "/dish_list/0/properties/smell"},
		{name: "dish missing price", giveEdit: func(o map[string]any) { delete(dish(o), "price") }, wantField: "/dish_list/0/price"},
		{name: "unknown field", giveEdit: func(o map[string]any) { o["out_shop_id"] = "6895" }, wantField: "/out_shop_id"},
		{name: "empty dish list", giveEdit: func(o map[string]any) { o["dish_list"] = []any{} }, wantField: "/dish_list"},
		{name: "dish list not array", giveEdit: func(o map[string]any) { o["dish_list"] = "x" }, wantField: "/dish_list"},
		{name: "second dish bad", giveEdit: func(o map[string]any) {
			o["dish_list"] = append(o["dish_list"].([]any), map[string]any{"out_dish_no": "2", "name": "饭", "price": 1, "unit": "BY_SHARE", "count": 1, "type": "RICE"})
		}, wantField: "/dish_list/1/type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := spOrder
			if tt.giveBase != nil {
				base = tt.giveBase
			}
			o := base()
			tt.giveEdit(o)
			body, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			v := sandbox.ValidateOrder(body)
			switch {
			case tt.wantOK && v != nil:
				t.Fatalf("valid body rejected: %+v", v)
			case !tt.wantOK && v == nil:
				t.Fatalf("violation at %s not found", tt.wantField)
			case !tt.wantOK && v.Field != tt.wantField:
				t.Fatalf("violation %+v, want field %s", v, tt.wantField)
			}
		})
	}
}

func TestValidateOrderRawBodies(t *testing.T) {
	tests := []struct {
		give      string
		wantIssue string
	}{
		{give: `not json`, wantIssue: "not valid JSON"},
		{give: `[1]`, wantIssue: "must be a JSON object"},
		{give: `{"a":1} {"b":2}`, wantIssue: "trailing data"},
		{give: "{\"name\":\"\xff\"}", wantIssue: "not valid UTF-8"},
	}
	for _, tt := range tests {
		v := sandbox.ValidateOrder([]byte(tt.give))
		if v == nil || !strings.Contains(v.Issue, tt.wantIssue) {
			t.Errorf("ValidateOrder(%q) = %+v, want issue %q", tt.give, v, tt.wantIssue)
		}
	}
}
