package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/ledger"
)

// TestRunRefusesNonCompactingLedgerTopic starts run against a broker whose
// ledger topic deletes instead of compacting: it stops at once, exit 2,
// naming the setting.
func TestRunRefusesNonCompactingLedgerTopic(t *testing.T) {
	runEnv(t)
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, "orders"))
	if err := c.CreateTopic("orders.ledger", 1, map[string]string{"cleanup.policy": "delete"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORDERSYNC_BROKERS", c.ListenAddrs()[0])
	t.Setenv("ORDERSYNC_HTTP_ADDR", "127.0.0.1:0")
	code, _, stderr := dispatchArgs(t, "run")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != exitUsage || !strings.HasPrefix(last, "worker: invalid setting ORDERSYNC_LEDGER_TOPIC (--ledger-topic): orders.ledger has cleanup.policy=\"delete\"") {
		t.Errorf("exit %d, last stderr line %q; want exit 2 naming ORDERSYNC_LEDGER_TOPIC", code, last)
	}
}

// TestKafkaCommandsBindEverySettingOnce: the commands that bind the ledger
// topic's setting as a flag define no flag of their own under a setting's
// name (ORDERSYNC_LEDGER_TOPIC is --ledger-topic; the replay ledger's is
// --replayed-topic); dlq, which reads no ledger, binds neither clash.
func TestKafkaCommandsBindEverySettingOnce(t *testing.T) {
	clearEnv(t)
	if code, _, stderr := dispatchArgs(t, "dlq", "-h"); code != exitOK {
		t.Errorf("dlq -h: exit %d, %q", code, stderr)
	}
	for _, cmd := range []string{"replay", "ledger", "report"} {
		code, _, stderr := dispatchArgs(t, cmd, "-h")
		if code != exitOK || !strings.Contains(stderr, "-ledger-topic") {
			t.Errorf("%s -h: exit %d, %q", cmd, code, stderr)
		}
	}
}

// createdEvent is the CREATE_DEAL event of order 20261126000001 whose
// PAY_SUCCESS TestLedgerCommands records as delivered.
const createdEvent = `{"event_id":"evt-1","event_type":"order.created","occurred_at":"2026-11-26T12:10:00+08:00",
"merchant":{"sub_mchid":"1900000100","sub_appid":"wx8888888888888888","shop_no":"6895"},
"customer":{"sub_openid":"oYobu0Dmn6TdodZnFWKOEkqoRbI8","login_token":"071oYFSN19sCH31AyNSN15QDSN1oYFSA"},
"order":{"order_no":"20261126000001","entry":"pages/menu/index","total_amount":900,"discount_amount":0,"user_amount":900,
"dishes":[{"dish_no":"1","name":"锅底","price":900,"unit":"BY_SHARE","count":1}]}}`

// TestLedgerCommands: with an order's PAY_SUCCESS in the ledger and its
// CREATE_DEAL dead-lettered, `worker ledger` prints the paid state, `worker
// report` counts it with its amount and the dead letter, and `worker replay
// --dry-run` says the guard would skip the dead letter as already_paid.
func TestLedgerCommands(t *testing.T) {
	runEnv(t)
	c := kafkatest.Cluster(t, kfake.SeedTopics(2, "orders"))
	brokers := c.ListenAddrs()
	t.Setenv("ORDERSYNC_BROKERS", brokers[0])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	if _, err := ledger.EnsureTopic(ctx, tr, brokers, "orders.ledger", "orders", 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := dlq.EnsureTopic(ctx, nil, tr, brokers, "orders.dlq", "orders"); err != nil {
		t.Fatal(err)
	}
	led, err := ledger.New(ledger.Config{Brokers: brokers, Topic: "orders.ledger", Retention: 72 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	amount := int64(900)
	if err := led.Write(ctx, 1, ledger.Record{SubMchID: "1900000100", OutOrderNo: "20261126000001", Status: ledger.StatusPaySuccess,
		ActionTime: time.Date(2026, 11, 26, 12, 20, 0, 0, time.UTC), EventID: "evt-2", BodySHA256: ledger.BodySum([]byte("p")),
		DeliveredAt: time.Now(), Account: ledger.DefaultAccount, TransactionID: "4200001", UserAmount: &amount}); err != nil {
		t.Fatal(err)
	}
	_ = led.Close()
	w, err := dlq.NewWriter(dlq.WriterConfig{Brokers: brokers, Topic: "orders.dlq"}) // tr cached the metadata before the topic existed
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(ctx, dlq.Record{Topic: "orders", Partition: 1, Offset: 3, Key: []byte("20261126000001"), Value: []byte(createdEvent),
		Failure: dlq.Failure{Class: dlq.ClassRejected, Message: "rejected"}, FailedAt: time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := dispatchArgs(t, "ledger", "--merchant", "1900000100", "--order", "20261126000001")
	if code != exitOK || !strings.Contains(out, `"status": "PAY_SUCCESS"`) || !strings.Contains(out, `"user_amount": 900`) {
		t.Errorf("worker ledger: exit %d, %s %s", code, out, stderr)
	}
	if code, _, _ := dispatchArgs(t, "ledger", "--merchant", "1900000100", "--order", "none"); code != exitFailed {
		t.Errorf("worker ledger of an unknown order: exit %d, want 1", code)
	}
	code, out, stderr = dispatchArgs(t, "report", "--since", "2026-11-26", "--until", "2026-11-27", "--format", "csv")
	want := "day,sub_mchid,create_deal,pay_success,paid_user_amount,invalid_event,rejected,retries_exhausted\n" +
		"2026-11-26,1900000100,0,1,900,0,1,0\n"
	if code != exitOK || out != want {
		t.Errorf("worker report: exit %d, stdout\n%s\nwant\n%s\nstderr %s", code, out, want, stderr)
	}
	code, out, stderr = dispatchArgs(t, "replay", "--dry-run")
	if code != exitOK || !strings.Contains(out, "guard-skip ") || !strings.Contains(out, "already_paid") ||
		!strings.Contains(stderr, "1 the delivery ledger would skip") {
		t.Errorf("worker replay --dry-run: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if strings.Contains(out+stderr, "071oYFSN19sCH31AyNSN15QDSN1oYFSA") {
		t.Error("a command printed the login_token")
	}
}

// TestDryRunWithoutLedgerTopic: `worker replay --dry-run` with the delivery
// ledger on but its topic not created yet (no worker has run) lists what it
// would republish, saying the ledger has no topic, instead of failing.
func TestDryRunWithoutLedgerTopic(t *testing.T) {
	runEnv(t)
	c := kafkatest.Cluster(t, kfake.SeedTopics(2, "orders"), kfake.SeedTopics(1, "orders.dlq"))
	brokers := c.ListenAddrs()
	t.Setenv("ORDERSYNC_BROKERS", brokers[0])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := dlq.NewWriter(dlq.WriterConfig{Brokers: brokers, Topic: "orders.dlq"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(ctx, dlq.Record{Topic: "orders", Partition: 1, Offset: 3, Key: []byte("20261126000001"), Value: []byte(createdEvent),
		Failure: dlq.Failure{Class: dlq.ClassRejected, Message: "rejected"}, FailedAt: time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := dispatchArgs(t, "replay", "--dry-run")
	if code != exitOK || !strings.Contains(stderr, "would republish 1") || !strings.Contains(stderr, "orders.ledger does not exist") {
		t.Errorf("worker replay --dry-run without a ledger topic: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
