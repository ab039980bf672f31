package uploader

import (
	"strings"
	"testing"
)

// BenchmarkBodySecrets is what redactResult reads a body for: a sync-status
// body with three dishes. It runs only for an attempt with a message or an
// error to redact.
//
//	go test -run '^$' -bench BodySecrets -benchmem ./internal/uploader/
func BenchmarkBodySecrets(b *testing.B) {
	dish := `{"out_dish_no":"1","name":"清汤锅底","price":1,"unit":"BY_SHARE","count":1.5,"discount":100,"type":"HOT_POT","priority":1,` +
		`"properties":{"taste":"辣","cuisine":"炒","main_material":"猪肝","ingredients":"青椒 | 辣椒 | 葱 | 八角","others":"有机 | 农家"}}`
	body := []byte(`{"sp_mchid":"1230000109","sp_appid":"wx8888888888888888","sub_mchid":"1900000100",` +
		`"sub_appid":"wx8888888888888888","out_shop_no":"6895","sub_openid":"oYobu0Dmn6TdodZnFWKOEkqoRbI8",` +
		`"login_token":"LOGIN-TOKEN-071oYFSN19sCH31AyNSN15QDSN1oYFSA","order_entry":"pages/menu/index","total_amount":1000,` +
		`"discount_amount":100,"user_amount":900,"status":"PAY_SUCCESS","action_time":"2026-11-26T12:30:05+08:00",` +
		`"pay_time":"2026-11-26T12:30:04+08:00","transaction_id":"1009660380201506130728806387",` +
		`"out_trade_no":"T1","out_order_no":"T1","out_table_no":"1","people_count":2,` +
		`"dish_list":[` + strings.Repeat(dish+",", 2) + dish + `]}`)
	b.ReportAllocs()
	for b.Loop() {
		if len(bodySecrets(body)) != 2 {
			b.Fatal("want the login token and the sub_openid")
		}
	}
}
