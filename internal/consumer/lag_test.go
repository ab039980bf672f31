package consumer

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/metrics"
)

// series returns the value of the ordersync_consumer_lag_messages series of
// m by partition.
func lagSeries(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "ordersync_consumer_lag_messages" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "partition" {
					out[l.GetValue()] = s.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

// TestLagCountsStalledEvents holds back every commit with an upload that
// hangs, and keeps producing after the fetcher stopped at its window: the
// lag exported at a scrape is the partition's end minus the committed
// offset, not a figure frozen at the last commit.
func TestLagCountsStalledEvents(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	p := makePlan(1, 100, func(_, s int) string {
		if s == 0 {
			return "hang"
		}
		return "ok"
	})
	produce(t, brokers, srcTopic, p.msgs)
	rec := newRecorder(time.Millisecond)
	m := metrics.New("test")
	in := startConsumer(t, brokers, "a", 1, time.Second, fakeMapper{}, rec.uploader("a"), m, nil)
	m.Partitions(in.c.PartitionStates)
	kafkatest.WaitFor(t, "the hanging upload started", func() bool { return rec.started.Load() == 1 })
	more := makePlan(1, 50, func(int, int) string { return "ok" })
	produce(t, brokers, srcTopic, more.msgs)
	kafkatest.WaitFor(t, "a lag of 150 exported", func() bool { return lagSeries(t, m)["0"] == 150 })
	in.stop(t)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if n := f.GetName(); n == "ordersync_consumer_lag_messages" || n == "ordersync_committed_offset" {
			t.Errorf("%d %s series after the instance gave up its partitions, want none", len(f.GetMetric()), n)
		}
	}
}

// TestLagSeriesFollowAssignment starts a second instance: the first stops
// exporting lag for the partition it lost.
func TestLagSeriesFollowAssignment(t *testing.T) {
	c := newCluster(t, 2)
	brokers := c.ListenAddrs()
	p := makePlan(20, 1, func(int, int) string { return "ok" })
	produce(t, brokers, srcTopic, p.msgs)
	rec := newRecorder(time.Millisecond)
	ma, mb := metrics.New("a"), metrics.New("b")
	a := startConsumer(t, brokers, "a", 4, time.Second, fakeMapper{}, rec.uploader("a"), ma, nil)
	ma.Partitions(a.c.PartitionStates)
	kafkatest.WaitFor(t, "instance a exporting both partitions", func() bool { return len(lagSeries(t, ma)) == 2 })
	b := startConsumer(t, brokers, "b", 4, time.Second, fakeMapper{}, rec.uploader("b"), mb, nil)
	mb.Partitions(b.c.PartitionStates)
	kafkatest.WaitFor(t, "one partition exported by each instance", func() bool {
		return len(lagSeries(t, ma)) == 1 && len(lagSeries(t, mb)) == 1
	})
	b.stop(t)
	a.stop(t)
}
