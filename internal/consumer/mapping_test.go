package consumer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/mapping"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// posProgram rewrites {"kind", "no", "total_yuan", "unit"} into a paid-less
// order event; kind "noise" yields nothing.
const posProgram = `
if .kind == "noise" then empty
elif .kind == "boom" then error("no kind")
else {
  event_id: "pos-\($offset)", event_type: "order.created", occurred_at: "2026-11-26T12:30:05+08:00",
  merchant: {sub_mchid: "1900000100", sub_appid: "wx8888888888888888", shop_no: "6895"},
  customer: {sub_openid: "oYobu0Dmn6TdodZnFWKOEkqoRbI8", login_token: "071oYFSN19sCH31AyNSN15QDSN1oYFSA"},
  order: {order_no: .no, entry: "pages/menu/index", total_amount: (.total_yuan | fen),
    discount_amount: 0, user_amount: (.total_yuan | fen),
    dishes: [{dish_no: "1", name: "锅底", price: (.total_yuan | fen), unit: .unit, count: 1}]}
} end`

// TestMappingProgramRunsBeforeTheMapper sends four messages in a foreign
// shape through the real stack with a mapping program: one is delivered
// with its yuan amount in fen, one is skipped, one fails in the program and
// one maps to an invalid event whose field points into the mapped event.
func TestMappingProgramRunsBeforeTheMapper(t *testing.T) {
	prog, err := mapping.Compile(posProgram, mapping.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	st := newStack(t, sandbox.Faults{}, 4)
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	produce(t, brokers, srcTopic, []kafka.Message{
		{Key: []byte("A1"), Value: []byte(`{"kind":"sale","no":"A1","total_yuan":"12.34","unit":"BY_SHARE"}`)},
		{Key: []byte("A2"), Value: []byte(`{"kind":"noise"}`)},
		{Key: []byte("A3"), Value: []byte(`{"kind":"boom"}`)},
		{Key: []byte("A4"), Value: []byte(`{"kind":"sale","no":"A4","total_yuan":"1","unit":"BY_BOWL"}`)},
	})
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)
	cons, err := New(Config{Brokers: brokers, Topics: []string{srcTopic}, GroupID: "ordersync", DLQTopic: dlqTopic, DeadLetters: testDeadLetters(t, brokers),
		MaxInFlight: 4, SessionTimeout: 3 * time.Second, RebalanceTimeout: 4 * time.Second,
		Logger: zerolog.New(testWriter{t}).Level(zerolog.WarnLevel), Mapping: prog}, st.m, st.u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	recs := st.sb.OrderRecords("A1")
	if len(recs) != 1 || !strings.Contains(string(recs[0].Body), `"total_amount":1234`) {
		t.Fatalf("order A1 uploads %d, want one with total_amount 1234: %s", len(recs), bodies(recs))
	}
	if n := st.sb.Stats().Accepted; n != 1 {
		t.Fatalf("sandbox accepted %d uploads, want 1", n)
	}
	dead := map[string]kafka.Message{}
	for _, m := range kafkatest.ReadTopic(t, brokers[0], dlqTopic) {
		dead[string(m.Key)] = m
	}
	if len(dead) != 2 {
		t.Fatalf("dead letters %d, want 2 (A3, A4)", len(dead))
	}
	a3 := dead["A3"]
	if msg, _ := headerValue(a3, dlq.HeaderErrorMessage); msg != "mapping: error: no kind" {
		t.Errorf("A3 message %q", msg)
	}
	if f, ok := headerValue(a3, dlq.HeaderErrorField); ok {
		t.Errorf("A3 field %q, want none", f)
	}
	if _, ok := headerValue(a3, dlq.HeaderErrorMapped); ok {
		t.Errorf("A3 (the program failed, nothing was mapped) carries %s", dlq.HeaderErrorMapped)
	}
	a4 := dead["A4"]
	if f, _ := headerValue(a4, dlq.HeaderErrorField); f != "/order/dishes/0/unit" {
		t.Errorf("A4 field %q, want /order/dishes/0/unit", f)
	}
	if v, _ := headerValue(a4, dlq.HeaderErrorMapped); v != "true" {
		t.Errorf("A4 %s = %q, want true", dlq.HeaderErrorMapped, v)
	}
	if string(a4.Value) != `{"kind":"sale","no":"A4","total_yuan":"1","unit":"BY_BOWL"}` {
		t.Errorf("A4 value %s, want the original", a4.Value)
	}
}

func bodies(recs []sandbox.Record) string {
	var b strings.Builder
	for _, r := range recs {
		b.Write(r.Body)
		b.WriteByte('\n')
	}
	return b.String()
}
