// Package sample generates realistic order events for the demo, the
// benchmarks and the reliability suite: whole order lifecycles (created,
// updated, paid, served) in all three shapes of docs/events.md, with a chosen
// share of broken events and of orders the sandbox is told to reject. Every
// event says what the worker is expected to do with it.
package sample

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Expect is what the worker should do with an event.
type Expect string

// Expected outcomes.
const (
	ExpectDelivered Expect = "delivered"
	ExpectSkipped   Expect = "skipped"
	ExpectInvalid   Expect = "invalid_event"
	ExpectRejected  Expect = "rejected"
)

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Event is one Kafka record to produce.
type Event struct {
	Key     []byte
	Value   []byte
	Headers []Header
	EventID string
	OrderNo string
	// Status is the sync-status the event maps to (CREATE_DEAL, PAY_SUCCESS),
	// empty when it is skipped or invalid.
	Status string
	Expect Expect
}

// Options shape a generated stream.
type Options struct {
	Seed   uint64
	Orders int
	// InvalidPercent of orders get one broken event (a typo'd type, a bad
	// unit, an emoji, a missing field...).
	InvalidPercent int
	// RejectedPercent of orders belong to RejectedSubMchID, a sub-merchant
	// the sandbox is set to reject.
	RejectedPercent  int
	RejectedSubMchID string
	// Dishes per order; 0 means 1 to 6 at random.
	Dishes int
	// Start is the occurred_at of the first event; zero means now.
	Start time.Time
	// Interleave mixes the orders' events the way a busy platform does, each
	// order's own events staying in order; false keeps each order together.
	Interleave bool
}

// SubMchID is the sub-merchant of the orders that are not rejected.
const SubMchID = "1900000109"

// Generate returns the events of opts.Orders orders, in produce order.
func Generate(opts Options) []Event {
	r := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	if opts.Start.IsZero() {
		opts.Start = time.Now()
	}
	perOrder := make([][]Event, opts.Orders)
	for i := range perOrder {
		perOrder[i] = orderEvents(r, opts, i)
	}
	if !opts.Interleave {
		var out []Event
		for _, evs := range perOrder {
			out = append(out, evs...)
		}
		return out
	}
	return interleave(r, perOrder)
}

// interleave picks the next event of a random order until all are taken,
// keeping each order's own sequence.
func interleave(r *rand.Rand, perOrder [][]Event) []Event {
	var out []Event
	live := make([]int, 0, len(perOrder))
	for i := range perOrder {
		live = append(live, i)
	}
	for len(live) > 0 {
		j := r.IntN(len(live))
		i := live[j]
		out = append(out, perOrder[i][0])
		perOrder[i] = perOrder[i][1:]
		if len(perOrder[i]) == 0 {
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
		}
	}
	return out
}

var dishNames = []struct {
	name, category, taste, cuisine, material string
	price                                    int64
	unit                                     string
}{
	{"清汤锅底", "HOT_POT", "鲜", "火锅", "其他", 3800, "BY_SHARE"},
	{"麻辣锅底", "HOT_POT", "辣", "火锅", "调味品", 4200, "BY_SHARE"},
	{"宫保鸡丁", "SICHUAN_CUISINE", "辣", "炒", "鸡", 4800, "BY_SHARE"},
	{"白切鸡", "GUAGNDONG_CUISINE", "鲜", "煮", "鸡", 6800, "BY_SHARE"},
	{"糖醋里脊", "SHANDONG_CUISINE", "酸", "炸", "猪", 5200, "BY_SHARE"},
	{"剁椒鱼头", "HUNAN_CUISINE", "辣", "蒸", "鱼类", 8800, "BY_SHARE"},
	{"手抓羊肉", "NORTHWEST_CUISINE", "咸", "煮", "羊", 12800, "BY_WEIGHT"},
	{"烤羊肉串", "BARBECUE", "香", "烤", "羊", 600, "BY_SHARE"},
	{"冬阴功汤", "SOUTHEAST_ASIAN_CUISINE", "酸", "煮", "虾类", 7800, "BY_SHARE"},
	{"珍珠奶茶", "DRINK", "甜", "煮", "茶饮", 1800, "BY_SHARE"},
	{"提拉米苏", "YOYO", "甜", "烘焙", "乳类", 3200, "BY_SHARE"},
	{"基围虾", "SEAFOOD", "鲜", "蒸", "虾类", 16800, "BY_WEIGHT"},
}

// orderEvents builds one order's lifecycle: created, sometimes updated,
// paid, sometimes served — plus at most one broken event.
func orderEvents(r *rand.Rand, opts Options, i int) []Event {
	orderNo := fmt.Sprintf("%s%06d", opts.Start.Format("20060102"), i+1)
	subMchID := SubMchID
	rejected := opts.RejectedPercent > 0 && r.IntN(100) < opts.RejectedPercent
	if rejected {
		subMchID = opts.RejectedSubMchID
	}
	o := newOrder(r, opts, orderNo, subMchID)
	at := opts.Start.Add(time.Duration(i) * time.Second)
	shape := r.IntN(10) // 0–6 plain, 7–8 CloudEvents structured, 9 binary
	var out []Event
	add := func(typ string, breakage func(map[string]any)) {
		at = at.Add(time.Duration(30+r.IntN(600)) * time.Second)
		ev := o.event(typ, len(out), at)
		expect := expectFor(typ, rejected)
		if breakage != nil {
			breakage(ev)
			expect = ExpectInvalid
		}
		out = append(out, encode(ev, shape, orderNo, typ, expect))
	}
	add("order.created", nil)
	if r.IntN(3) == 0 {
		o.addDish(r)
		add("order.updated", nil)
	}
	if opts.InvalidPercent > 0 && r.IntN(100) < opts.InvalidPercent {
		breakage := breakages[r.IntN(len(breakages))]
		add(breakage.typ, breakage.apply)
	}
	add("order.paid", nil)
	if r.IntN(4) == 0 {
		add("order.served", nil)
	}
	return out
}

func expectFor(typ string, rejected bool) Expect {
	switch {
	case typ == "order.served":
		return ExpectSkipped
	case rejected:
		return ExpectRejected
	default:
		return ExpectDelivered
	}
}

// breakages are the mistakes producers really make; each turns an event
// invalid in one field.
var breakages = []struct {
	typ   string
	apply func(map[string]any)
}{
	{"order.payed", func(map[string]any) {}},
	{"order.updated", func(ev map[string]any) {
		dish(ev)["unit"] = "BY_PLATE"
	}},
	{"order.updated", func(ev map[string]any) {
		dish(ev)["name"] = "生日蛋糕🎂"
	}},
	{"order.updated", func(ev map[string]any) {
		delete(ev["customer"].(map[string]any), "login_token")
	}},
	{"order.updated", func(ev map[string]any) {
		ev["order"].(map[string]any)["discount_amount"] = json.Number("99999999")
	}},
	{"order.updated", func(ev map[string]any) {
		dish(ev)["count"] = json.Number("1.255")
	}},
	{"order.updated", func(ev map[string]any) {
		ev["occurred_at"] = "2026-11-26 12:30:05"
	}},
	{"order.updated", func(ev map[string]any) {
		dish(ev)["category"] = "GUANGDONG_CUISINE"
	}},
}

func dish(ev map[string]any) map[string]any {
	return ev["order"].(map[string]any)["dishes"].([]any)[0].(map[string]any)
}

// order is the evolving state of one order.
type order struct {
	no, subMchID  string
	openid, token string
	table         string
	people        int
	dishes        []map[string]any
	trade         string
}

func newOrder(r *rand.Rand, opts Options, orderNo, subMchID string) *order {
	o := &order{
		no: orderNo, subMchID: subMchID,
		openid: "oYobu0" + randomString(r, 22),
		token:  randomString(r, 32),
		table:  strconv.Itoa(1 + r.IntN(40)),
		people: 1 + r.IntN(8),
		trade:  "42000" + strconv.FormatUint(r.Uint64()%1e15, 10) + orderNo[len(orderNo)-6:],
	}
	n := opts.Dishes
	if n == 0 {
		n = 1 + r.IntN(6)
	}
	for range n {
		o.addDish(r)
	}
	return o
}

func (o *order) addDish(r *rand.Rand) {
	d := dishNames[r.IntN(len(dishNames))]
	count := json.Number(strconv.Itoa(1 + r.IntN(3)))
	if d.unit == "BY_WEIGHT" {
		count = json.Number(fmt.Sprintf("%d.%02d", r.IntN(2), 5+r.IntN(90)))
	}
	dish := map[string]any{
		"dish_no":  strconv.Itoa(len(o.dishes) + 1),
		"name":     d.name,
		"price":    d.price,
		"unit":     d.unit,
		"count":    count,
		"category": d.category,
		"priority": len(o.dishes) + 1,
	}
	if r.IntN(2) == 0 {
		dish["discount"] = 80 + r.IntN(21)
		dish["properties"] = map[string]any{
			"taste":         []string{d.taste},
			"cuisine":       []string{d.cuisine},
			"main_material": []string{d.material},
			"ingredients":   []string{"葱", "姜", "蒜"},
			"others":        "农家",
		}
	}
	o.dishes = append(o.dishes, dish)
}

// total sums price × count in fen, rounding each line like a till does.
func (o *order) total() int64 {
	var sum int64
	for _, d := range o.dishes {
		c, _ := d["count"].(json.Number).Float64()
		sum += int64(float64(d["price"].(int64))*c + 0.5)
	}
	return sum
}

func (o *order) event(typ string, seq int, at time.Time) map[string]any {
	total := o.total()
	discount := total / 10
	dishes := make([]any, len(o.dishes))
	for i, d := range o.dishes {
		cp := make(map[string]any, len(d))
		for k, v := range d {
			cp[k] = v
		}
		dishes[i] = cp
	}
	merchant := map[string]any{"sub_mchid": o.subMchID, "sub_appid": "wx8888888888888888", "shop_no": "6895"}
	customer := map[string]any{"sub_openid": o.openid, "login_token": o.token}
	ev := map[string]any{
		"event_id":    fmt.Sprintf("evt-%s-%02d", o.no, seq),
		"event_type":  typ,
		"occurred_at": at.Format(time.RFC3339),
		"merchant":    merchant,
		"customer":    customer,
		"order": map[string]any{
			"order_no": o.no, "entry": "pages/menu/index", "table_no": o.table,
			"people_count": o.people, "total_amount": total, "discount_amount": discount,
			"user_amount": total - discount, "dishes": dishes,
		},
	}
	if typ == "order.paid" || typ == "order.served" {
		ev["payment"] = map[string]any{
			"transaction_id": o.trade, "out_trade_no": o.no,
			"paid_at": at.Add(-time.Second).Format(time.RFC3339),
		}
	}
	return ev
}

// encode renders ev in one of the three shapes: 0–6 plain, 7–8 CloudEvents
// structured, 9 CloudEvents binary.
func encode(ev map[string]any, shape int, orderNo, typ string, expect Expect) Event {
	out := Event{Key: []byte(orderNo), EventID: ev["event_id"].(string), OrderNo: orderNo, Expect: expect}
	if expect == ExpectDelivered || expect == ExpectRejected {
		out.Status = "CREATE_DEAL"
		if typ == "order.paid" {
			out.Status = "PAY_SUCCESS"
		}
	}
	switch {
	case shape <= 6:
		out.Value = mustJSON(ev)
	case shape <= 8:
		id, typ, at := ev["event_id"], ev["event_type"], ev["occurred_at"]
		delete(ev, "event_id")
		delete(ev, "event_type")
		delete(ev, "occurred_at")
		out.Value = mustJSON(map[string]any{
			"specversion": "1.0", "id": id, "type": typ, "time": at,
			"source": "/platform/orders", "datacontenttype": "application/json", "data": ev,
		})
	default:
		out.Headers = []Header{
			{"ce_specversion", []byte("1.0")},
			{"ce_id", []byte(ev["event_id"].(string))},
			{"ce_type", []byte(ev["event_type"].(string))},
			{"ce_time", []byte(ev["occurred_at"].(string))},
			{"ce_source", []byte("/platform/orders")},
			{"content-type", []byte("application/json")},
		}
		delete(ev, "event_id")
		delete(ev, "event_type")
		delete(ev, "occurred_at")
		out.Value = mustJSON(ev)
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sample: marshal event: %v", err)) // only built-in types: cannot happen
	}
	return b
}

const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}
