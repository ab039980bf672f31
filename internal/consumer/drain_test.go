package consumer

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// TestFinalCommitAfterDrainLongerThanSession stops the consumer while its
// uploads take longer than the session timeout (3 s) to finish: the member
// keeps heartbeating while the partitions drain, so the coordinator does
// not evict it and the final commit lands — nothing delivered is redelivered
// after a clean stop.
func TestFinalCommitAfterDrainLongerThanSession(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	const n = 8
	produce(t, brokers, srcTopic, namedPlan("d-", n))
	rec := newRecorder(6 * time.Second)
	in := startConsumer(t, brokers, "a", n, 30*time.Second, fakeMapper{}, rec.uploader("a"), newCountingObserver(), nil)
	kafkatest.WaitFor(t, "every upload started", func() bool { return rec.started.Load() == n })
	in.stop(t)
	if got := rec.delivered.Load(); got != n {
		t.Fatalf("%d of %d uploads finished during the drain", got, n)
	}
	if got := kafkatest.Committed(c, "ordersync", srcTopic)[0]; got != n {
		t.Errorf("committed offset %d after a clean stop, want %d: the final commit was refused", got, n)
	}
}
