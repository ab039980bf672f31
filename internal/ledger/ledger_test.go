package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type cluster struct {
	*kfake.Cluster
	brokers []string
	ctx     context.Context
	tr      *kafka.Transport
}

func newCluster(t testing.TB, topics map[string]int32) cluster {
	t.Helper()
	c := kafkatest.Cluster(t)
	for name, n := range topics {
		if err := c.CreateTopic(name, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	tr := &kafka.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return cluster{Cluster: c, brokers: c.ListenAddrs(), ctx: ctx, tr: tr}
}

type countingObserver struct {
	failed, restores, records atomic.Int64
}

func (o *countingObserver) LedgerWriteFailed() { o.failed.Add(1) }
func (o *countingObserver) LedgerRestored(n int, _ time.Duration) {
	o.restores.Add(1)
	o.records.Add(int64(n))
}

func newLedger(t testing.TB, c cluster, obs Observer) *Ledger {
	t.Helper()
	l, err := New(Config{Brokers: c.brokers, Topic: "orders.ledger", Retention: 72 * time.Hour, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestEnsureTopicCompactsLikeTheSource(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 3})
	created, err := EnsureTopic(c.ctx, c.tr, c.brokers, "orders.ledger", "orders", 72*time.Hour)
	if err != nil || !created {
		t.Fatalf("created %v, err %v", created, err)
	}
	tr := &kafka.Transport{} // tr cached the metadata before the topic existed
	defer tr.CloseIdleConnections()
	if n, err := Partitions(c.ctx, tr, c.brokers, "orders.ledger"); err != nil || n != 3 {
		t.Errorf("partitions %d, err %v; want the source's 3", n, err)
	}
	if err := CheckTopic(c.ctx, tr, c.brokers, "orders.ledger"); err != nil {
		t.Errorf("the created topic fails the check: %v", err)
	}
	if v, err := dlq.TopicConfig(c.ctx, tr, c.brokers, "orders.ledger", "retention.ms"); err != nil || v != "259200000" {
		t.Errorf("retention.ms = %q, err %v; want 72h", v, err)
	}
	if created, err := EnsureTopic(c.ctx, tr, c.brokers, "orders.ledger", "orders", time.Hour); err != nil || created {
		t.Errorf("second call: created %v, err %v", created, err)
	}
}

func TestCheckTopicRefusesADeletePolicy(t *testing.T) {
	c := newCluster(t, nil)
	if err := c.CreateTopic("plain.ledger", 1, map[string]string{"cleanup.policy": "delete"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckTopic(c.ctx, c.tr, c.brokers, "plain.ledger"); !errors.Is(err, ErrNotCompacted) {
		t.Errorf("CheckTopic = %v, want ErrNotCompacted", err)
	}
}

func rec(order, status string, action time.Time, body string) Record {
	amount := int64(900)
	return Record{SubMchID: "1900000100", OutOrderNo: order, Status: status, ActionTime: action, EventID: "evt-" + order,
		BodySHA256: BodySum([]byte(body)), DeliveredAt: time.Now(), RequestID: "R-" + order, Account: DefaultAccount,
		TransactionID: "4200001", UserAmount: &amount}
}

// TestRestoreGuardsWhatAnotherInstanceDelivered: records written by one
// Ledger to the partition of their source partition are restored by another
// (a new owner), which then guards those orders, and only those of the
// partition it restored.
func TestRestoreGuardsWhatAnotherInstanceDelivered(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 2})
	if _, err := EnsureTopic(c.ctx, c.tr, c.brokers, "orders.ledger", "orders", 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	first := newLedger(t, c, nil)
	for i := range 50 {
		order := fmt.Sprintf("P0-%d", i)
		if err := first.Write(c.ctx, 0, rec(order, StatusCreateDeal, t0, "c"+order)); err != nil {
			t.Fatal(err)
		}
		if err := first.Write(c.ctx, 0, rec(order, StatusPaySuccess, t0, "p"+order)); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Write(c.ctx, 1, rec("P1-0", StatusPaySuccess, t0, "p")); err != nil {
		t.Fatal(err)
	}
	obs := &countingObserver{}
	second := newLedger(t, c, obs)
	n, err := second.Restore(c.ctx, 0)
	if err != nil || n != 100 {
		t.Fatalf("restored %d records, err %v; want 100", n, err)
	}
	if obs.restores.Load() != 1 || obs.records.Load() != 100 {
		t.Errorf("observer saw %d restores, %d records", obs.restores.Load(), obs.records.Load())
	}
	for i := range 50 {
		order := fmt.Sprintf("P0-%d", i)
		if got := second.Check(Event{SubMchID: "1900000100", OutOrderNo: order, Status: StatusCreateDeal, ActionTime: t0.Add(time.Hour), Body: []byte("x")}); got != ReasonAlreadyPaid {
			t.Fatalf("order %s after restore: %q, want already_paid", order, got)
		}
	}
	if got := second.Check(Event{SubMchID: "1900000100", OutOrderNo: "P1-0", Status: StatusCreateDeal, ActionTime: t0}); got != "" {
		t.Errorf("an order of a partition not restored is guarded: %q", got)
	}
	if ok, why := second.Healthy(); !ok {
		t.Errorf("unhealthy: %s", why)
	}
}

func TestWriteFailureIsVisible(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 1})
	obs := &countingObserver{}
	l := newLedger(t, c, obs) // orders.ledger does not exist and is not auto-created
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	if err := l.Write(ctx, 0, rec("A1", StatusPaySuccess, t0, "p")); err == nil {
		t.Fatal("write to a missing topic succeeded")
	}
	if ok, why := l.Healthy(); ok || why == "" {
		t.Errorf("Healthy = %v %q after a failed write", ok, why)
	}
	if obs.failed.Load() != 1 {
		t.Errorf("failures counted %d, want 1", obs.failed.Load())
	}
	if got := l.Check(Event{SubMchID: "1900000100", OutOrderNo: "A1", Status: StatusCreateDeal, ActionTime: t0}); got != "" {
		t.Errorf("a record never acknowledged guards its order: %q", got)
	}
}
