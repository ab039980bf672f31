package consumer

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// TestMissingDeadLetterTopicIsCreated starts the worker without its
// dead-letter topic (deleted, or never created because the broker was down at
// the start): the first failed write creates it, the dead letters land and the
// partition commits past them.
func TestMissingDeadLetterTopicIsCreated(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, srcTopic), kfake.GroupMinSessionTimeout(500*time.Millisecond))
	brokers := c.ListenAddrs()
	p := makePlan(10, 1, func(o, _ int) string {
		if o%3 == 0 {
			return "invalid"
		}
		return "ok"
	})
	produce(t, brokers, srcTopic, p.msgs)
	rec := newRecorder(time.Millisecond)
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), newCountingObserver(), nil)
	kafkatest.WaitFor(t, "every event finished and committed", func() bool { return kafkatest.Committed(c, "ordersync", srcTopic)[0] == 10 })
	in.stop(t)
	checkDeadLetters(t, brokers, p, 0)
}

// TestUnwritableDeadLetterTopicFailsReadiness refuses every dead-letter
// write: after repeated failures Ready reports the dead-letter topic
// unwritable, the failures are aggregated into few warn lines rather than one
// per write, and readiness comes back once a write succeeds.
func TestUnwritableDeadLetterTopicFailsReadiness(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	p := makePlan(12, 1, func(o, _ int) string {
		if o < 6 {
			return "invalid"
		}
		return "ok"
	})
	produce(t, brokers, srcTopic, p.msgs)
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: dlqTopic, Err: kerr.NotEnoughReplicas, Count: -1})
	rec := newRecorder(time.Millisecond)
	obs := newCountingObserver()
	logs := &syncBuffer{}
	in := startConsumer(t, brokers, "a", 8, 5*time.Second, fakeMapper{}, rec.uploader("a"), obs, logs)
	kafkatest.WaitFor(t, "readiness to fail on the dead-letter topic", func() bool {
		ok, why := in.c.Ready()
		return !ok && strings.HasPrefix(why, "dead-letter topic unwritable: ")
	})
	kafkatest.WaitFor(t, "many failed writes", func() bool { return obs.dlqFailed.Load() >= 30 })
	warned := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"warn"`) && strings.Contains(line, "dead-letter write") {
			warned++
		}
	}
	if warned > 4 {
		t.Errorf("%d warn lines about %d failed dead-letter writes, want them aggregated", warned, obs.dlqFailed.Load())
	}
	h.Remove()
	kafkatest.WaitFor(t, "commit past the dead letters", func() bool { return kafkatest.Committed(c, "ordersync", srcTopic)[0] == 12 })
	if ok, why := in.c.Ready(); !ok {
		t.Errorf("Ready() = false, %q after the dead-letter topic took writes again", why)
	}
	in.stop(t)
	checkDeadLetters(t, brokers, p, 0)
}
