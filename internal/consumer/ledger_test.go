package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/ledger"
	"github.com/ordersync/ordersync/internal/sandbox"
)

const ledgerTopic = "orders.ledger"

// orderEvent is a valid plain order event of order no in service-provider
// mode, of type typ at minute min past 12:00 (+08:00), with payment when pay.
func orderEvent(no, typ string, min int, pay bool, dishes int) []byte {
	ev := map[string]any{
		"event_id":    fmt.Sprintf("evt-%s-%s-%d-%d", no, typ, min, dishes),
		"event_type":  typ,
		"occurred_at": fmt.Sprintf("2026-11-26T12:%02d:00+08:00", min),
		"merchant":    map[string]any{"sub_mchid": "1900000100", "sub_appid": "wx8888888888888888", "shop_no": "6895"},
		"customer":    map[string]any{"sub_openid": "oYobu0Dmn6TdodZnFWKOEkqoRbI8", "login_token": secret},
	}
	var ds []any
	for i := range dishes {
		ds = append(ds, map[string]any{"dish_no": fmt.Sprint(i + 1), "name": "清汤锅底", "price": 100, "unit": "BY_SHARE", "count": 1})
	}
	amount := 100 * dishes
	ev["order"] = map[string]any{"order_no": no, "entry": "pages/menu/index", "total_amount": amount, "discount_amount": 0,
		"user_amount": amount, "dishes": ds}
	if pay {
		ev["payment"] = map[string]any{"transaction_id": "42000" + no, "out_trade_no": no, "paid_at": "2026-11-26T12:30:00+08:00"}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// switchLedger is the real ledger with a switch that makes writes fail, as a
// ledger outage (or a kill between the 204 and the ledger's ack) would.
type switchLedger struct {
	*ledger.Ledger
	failing atomic.Bool
	failed  atomic.Int64
}

func (l *switchLedger) Write(ctx context.Context, partition int, r ledger.Record) error {
	if l.failing.Load() {
		l.failed.Add(1)
		return errors.New("ledger unavailable (test)")
	}
	return l.Ledger.Write(ctx, partition, r)
}

func newTestLedger(t *testing.T, brokers []string) *switchLedger {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	if _, err := ledger.EnsureTopic(ctx, tr, brokers, ledgerTopic, srcTopic, 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(ledger.Config{Brokers: brokers, Topic: ledgerTopic, Retention: 72 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return &switchLedger{Ledger: l}
}

// startWithLedger starts an instance with led as its ledger (nil: off).
func startWithLedger(t *testing.T, brokers []string, name string, st *stack, led Ledger, obs Observer) *instance {
	t.Helper()
	c, err := New(Config{
		Brokers: brokers, Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic, DeadLetters: testDeadLetters(t, brokers),
		MaxInFlight: 16, SessionTimeout: 3 * time.Second, RebalanceTimeout: 4 * time.Second,
		ShutdownTimeout: 2 * time.Second, PartitionWatchInterval: time.Second,
		Logger:   zerolog.New(testWriter{t}).Level(zerolog.WarnLevel).With().Str("instance", name).Logger(),
		Observer: obs, Ledger: led,
	}, st.m, st.u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{c: c, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- c.Run(ctx) }()
	t.Cleanup(func() { in.stop(t) })
	return in
}

// reasonObserver counts finished events by outcome and reason.
type reasonObserver struct {
	countingObserver
	misskeyed atomic.Int64
}

func newReasonObserver() *reasonObserver {
	return &reasonObserver{countingObserver: countingObserver{done: map[string]int{}}}
}

func (o *reasonObserver) EventMisskeyed() { o.misskeyed.Add(1) }

func (o *reasonObserver) count(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.done[key]
}

// checkSandbox checks what the sandbox holds of orders: each order's last
// accepted state is PAY_SUCCESS, no order went back from PAY_SUCCESS, and no
// body was accepted twice.
func checkSandbox(t *testing.T, sb *sandbox.Server, orders []string) {
	t.Helper()
	for _, no := range orders {
		recs := sb.OrderRecords(no)
		paid := false
		bodies := map[string]bool{}
		for _, r := range recs {
			if paid && r.Status != "PAY_SUCCESS" {
				t.Errorf("order %s went back to %s after PAY_SUCCESS", no, r.Status)
			}
			paid = paid || r.Status == "PAY_SUCCESS"
			if bodies[string(r.Body)] {
				t.Errorf("order %s: a delivered state was uploaded again", no)
			}
			bodies[string(r.Body)] = true
		}
		if last, ok := sb.LastState("1900000100", no); !ok || last.Status != "PAY_SUCCESS" {
			t.Errorf("order %s: WeChat holds %+v (%v), want PAY_SUCCESS", no, last, ok)
		}
	}
}

// TestLedgerNeverBackNeverTwice: after each order's payment is delivered, the
// producer publishes late older states, the delivered states again, and
// updates with and without the payment. Through three instances in turn —
// each a new owner that restores the ledger — no order goes back from
// PAY_SUCCESS, no delivered state is uploaded again, nothing is
// dead-lettered, and the skips are counted by reason.
func TestLedgerNeverBackNeverTwice(t *testing.T) {
	st := newStack(t, sandbox.Faults{}, 16)
	c := newCluster(t, 3)
	brokers := c.ListenAddrs()
	var orders []string
	var first, late []kafka.Message
	for i := range 30 {
		no := fmt.Sprintf("2026112600%04d", i)
		orders = append(orders, no)
		key := []byte(no)
		created, paid := orderEvent(no, "order.created", 10, false, 1), orderEvent(no, "order.paid", 20, true, 2)
		first = append(first, kafka.Message{Key: key, Value: created}, kafka.Message{Key: key, Value: paid})
		late = append(late,
			kafka.Message{Key: key, Value: orderEvent(no, "order.created", 5, false, 1)},  // older: already_paid
			kafka.Message{Key: key, Value: created},                                       // re-sent: already_paid
			kafka.Message{Key: key, Value: paid},                                          // re-sent: already_delivered
			kafka.Message{Key: key, Value: orderEvent(no, "order.paid", 15, true, 2)},     // older paid: stale
			kafka.Message{Key: key, Value: orderEvent(no, "order.updated", 25, false, 3)}, // update without payment: already_paid
		)
	}
	phases := [][]kafka.Message{first, late[:len(late)/2], late[len(late)/2:]}
	obs := newReasonObserver()
	for i, msgs := range phases {
		led := newTestLedger(t, brokers)
		in := startWithLedger(t, brokers, fmt.Sprintf("i%d", i), st, led, obs)
		produce(t, brokers, srcTopic, msgs)
		ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)
		kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
		in.stop(t)
	}
	checkSandbox(t, st.sb, orders)
	if got := st.sb.Stats().Accepted; got != int64(2*len(orders)) {
		t.Errorf("sandbox accepted %d uploads, want %d (one created and one paid per order)", got, 2*len(orders))
	}
	if dead := kafkatest.ReadTopic(t, brokers[0], dlqTopic); len(dead) != 0 {
		t.Errorf("%d dead letters, want none", len(dead))
	}
	for reason, want := range map[string]int{ledger.ReasonAlreadyPaid: 3 * len(orders), ledger.ReasonAlreadyDelivered: len(orders),
		ledger.ReasonStale: len(orders)} {
		if got := obs.count(OutcomeSkipped + "/" + reason); got != want {
			t.Errorf("skipped %s = %d, want %d", reason, got, want)
		}
	}
}

// TestOrderScheduledByOrderNotKey: one order's events published under
// different keys (their event ids) into one partition are uploaded one at a
// time in offset order, and counted as misskeyed.
func TestOrderScheduledByOrderNotKey(t *testing.T) {
	st := newStack(t, sandbox.Faults{Latency: sandbox.Duration(20 * time.Millisecond)}, 16)
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	var orders []string
	var msgs []kafka.Message
	for i := range 20 {
		no := fmt.Sprintf("2026112601%04d", i)
		orders = append(orders, no)
		for j, v := range [][]byte{orderEvent(no, "order.created", 10, false, 1), orderEvent(no, "order.updated", 11, false, 2),
			orderEvent(no, "order.paid", 12, true, 2)} {
			msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "evt-%s-%d", no, j), Value: v})
		}
	}
	produce(t, brokers, srcTopic, msgs)
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)
	obs := newReasonObserver()
	in := startWithLedger(t, brokers, "a", st, nil, obs)
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	in.stop(t)
	for _, no := range orders {
		var got []string
		for _, r := range st.sb.OrderRecords(no) {
			got = append(got, r.Status)
		}
		if strings.Join(got, ",") != "CREATE_DEAL,CREATE_DEAL,PAY_SUCCESS" {
			t.Errorf("order %s uploads %v, want CREATE_DEAL,CREATE_DEAL,PAY_SUCCESS", no, got)
		}
	}
	if got := obs.misskeyed.Load(); got != int64(len(msgs)) {
		t.Errorf("misskeyed = %d, want %d", got, len(msgs))
	}
}

// TestLedgerOutageStallsCommitsAndReuploads: while ledger writes fail, the
// uploads answered 204 are not committed; an instance stopped then (as a
// kill between the 204 and the ledger's ack) leaves them to the next, which
// uploads them again — none is lost.
func TestLedgerOutageStallsCommitsAndReuploads(t *testing.T) {
	st := newStack(t, sandbox.Faults{}, 16)
	c := newCluster(t, 2)
	brokers := c.ListenAddrs()
	var orders []string
	var msgs []kafka.Message
	for i := range 10 {
		no := fmt.Sprintf("2026112602%04d", i)
		orders = append(orders, no)
		msgs = append(msgs, kafka.Message{Key: []byte(no), Value: orderEvent(no, "order.paid", 20, true, 1)})
	}
	produce(t, brokers, srcTopic, msgs)
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)

	led := newTestLedger(t, brokers)
	led.failing.Store(true)
	in := startWithLedger(t, brokers, "a", st, led, nil)
	kafkatest.WaitFor(t, "every upload answered and its ledger write failed", func() bool {
		return st.sb.Stats().Accepted == int64(len(msgs)) && led.failed.Load() >= int64(len(msgs))
	})
	if got := kafkatest.Committed(c, "ordersync", srcTopic); got[0] > 0 || got[1] > 0 {
		t.Errorf("committed %v while no ledger record was acknowledged", got)
	}
	in.stop(t)

	led2 := newTestLedger(t, brokers)
	in = startWithLedger(t, brokers, "b", st, led2, nil)
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	in.stop(t)
	for _, no := range orders {
		if n := len(st.sb.OrderRecords(no)); n != 2 {
			t.Errorf("order %s uploaded %d times, want 2 (again after the lost ledger ack)", no, n)
		}
		if last, ok := st.sb.LastState("1900000100", no); !ok || last.Status != "PAY_SUCCESS" {
			t.Errorf("order %s: WeChat holds %+v", no, last)
		}
	}
}
