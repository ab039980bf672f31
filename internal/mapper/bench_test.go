package mapper

import (
	"runtime"
	"strconv"
	"testing"
)

// fiveDishes is a realistic order.paid event with five dishes, three with
// properties.
func fiveDishes(b testing.TB) []byte {
	d := func(no, name string, price int, unit string, count any) map[string]any {
		return map[string]any{"dish_no": no, "name": name, "price": price, "unit": unit, "count": count,
			"discount": 90, "category": "SICHUAN_CUISINE", "priority": 1}
	}
	props := map[string]any{"taste": []any{"辣", "麻"}, "cuisine": []any{"炒"}, "main_material": []any{"鸡"},
		"ingredients": []any{"葱", "姜", "蒜"}, "others": "农家"}
	dishes := []any{
		d("1", "宫保鸡丁", 4800, "BY_SHARE", num("1")),
		d("2", "麻婆豆腐", 2800, "BY_SHARE", num("2")),
		d("3", "手抓羊肉", 12800, "BY_WEIGHT", num("1.25")),
		d("4", "珍珠奶茶", 1800, "BY_SHARE", num("3")),
		d("5", "基围虾", 16800, "BY_WEIGHT", num("0.75")),
	}
	for _, i := range []int{0, 2, 4} {
		dishes[i].(map[string]any)["properties"] = props
	}
	return build(b, "", set("/order/dishes", dishes), set("/order/total_amount", 60000),
		set("/order/discount_amount", 6000), set("/order/user_amount", 54000))
}

func BenchmarkMap5Dishes(b *testing.B) {
	m := testMapper(b, "")
	value := fiveDishes(b)
	if _, err := m.Map(value, nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	n := 0
	for b.Loop() {
		if _, err := m.Map(value, nil); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// ns/op is wall time; cpu-ns/op is the thread's CPU time, which stays
	// meaningful when other processes compete for the cores.
	if end, ok2 := threadCPU(); ok && ok2 && n > 0 {
		b.ReportMetric(float64(end-start)/float64(n), "cpu-ns/op")
	}
}

func BenchmarkMap5DishesStructured(b *testing.B) {
	m := testMapper(b, "")
	data := fiveDishes(b)
	value := []byte(`{"specversion":"1.0","id":"evt-1","type":"order.paid","source":"/p","time":"2026-11-26T12:30:05+08:00","data":` + string(data) + `}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(value, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapInvalid(b *testing.B) {
	m := testMapper(b, "")
	value := build(b, "", set("/order/dishes/0/unit", "KG"), del("/event_id"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(value, nil); err == nil {
			b.Fatal("want violations")
		}
	}
}

// BenchmarkMap20Dishes maps an order.paid event of twenty dishes with
// properties: more '{' and '[' than maxDepth, so its syntax is checked token
// by token before it is decoded.
func BenchmarkMap20Dishes(b *testing.B) {
	props := map[string]any{"taste": []any{"辣", "麻"}, "cuisine": []any{"炒"}, "main_material": []any{"鸡"},
		"ingredients": []any{"葱", "姜", "蒜"}, "others": "农家"}
	dishes := make([]any, 20)
	for i := range dishes {
		dishes[i] = map[string]any{"dish_no": strconv.Itoa(i + 1), "name": "宫保鸡丁", "price": 100 + i,
			"unit": "BY_SHARE", "count": num("1"), "properties": props}
	}
	m := testMapper(b, "")
	value := build(b, "", set("/order/dishes", dishes))
	if _, err := m.Map(value, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(value, nil); err != nil {
			b.Fatal(err)
		}
	}
}
