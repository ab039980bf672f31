package consumer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// offsetObserver counts partition resets and events lost to retention.
type offsetObserver struct {
	*countingObserver
	mu     sync.Mutex
	resets int
	lost   int64
}

func (o *offsetObserver) PartitionReset(string) {
	o.mu.Lock()
	o.resets++
	o.mu.Unlock()
}

func (o *offsetObserver) LostToRetention(_ string, n int64) {
	o.mu.Lock()
	o.lost += n
	o.mu.Unlock()
}

func (o *offsetObserver) counts() (resets int, lost int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.resets, o.lost
}

func namedPlan(prefix string, n int) []kafka.Message {
	p := makePlan(n, 1, func(int, int) string { return "ok" })
	for i := range p.msgs {
		p.msgs[i].Key = []byte(prefix + string(p.msgs[i].Key))
		p.msgs[i].Value = []byte(strings.Replace(string(p.msgs[i].Value), `"order":"`, `"order":"`+prefix, 1))
	}
	return p.msgs
}

func kafkaAdmin(t *testing.T, brokers []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// recreateTopic deletes topic and creates it again with one partition.
func recreateTopic(t *testing.T, cl *kgo.Client, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TopicNames = []string{topic}
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr(topic)
	del.Topics = append(del.Topics, dt)
	if _, err := del.RequestWith(ctx, cl); err != nil {
		t.Fatalf("delete %s: %v", topic, err)
	}
	cr := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, 1, 1
	cr.Topics = append(cr.Topics, ct)
	resp, err := cr.RequestWith(ctx, cl)
	if err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create %s: %v %+v", topic, err, resp)
	}
}

// deleteRecords removes partition 0 of topic below offset, as retention does.
func deleteRecords(t *testing.T, cl *kgo.Client, topic string, below int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = 0, below
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("delete records of %s below %d: %v %+v", topic, below, err, resp)
	}
}

// TestRecreatedTopicRestartsFromEarliest deletes and recreates the source
// topic while the worker reads it: the new topic's events are all delivered
// (the old position is past its end), and the reset is logged as an error and
// counted.
func TestRecreatedTopicRestartsFromEarliest(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	produce(t, brokers, srcTopic, namedPlan("old-", 50))
	rec := newRecorder(time.Millisecond)
	obs := &offsetObserver{countingObserver: newCountingObserver()}
	logs := &syncBuffer{}
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), obs, logs)
	kafkatest.WaitFor(t, "the old topic's events delivered", func() bool { return rec.delivered.Load() == 50 })

	recreateTopic(t, kafkaAdmin(t, brokers), srcTopic)
	produce(t, brokers, srcTopic, namedPlan("new-", 20))
	kafkatest.WaitFor(t, "the new topic's events delivered", func() bool { return rec.delivered.Load() == 70 })
	in.stop(t)
	if resets, _ := obs.counts(); resets < 1 {
		t.Errorf("%d partition resets counted, want at least 1", resets)
	}
	if !strings.Contains(logs.String(), `"level":"error"`) || !strings.Contains(logs.String(), "restarting from the earliest offset") {
		t.Errorf("no error line about the reset in the log:\n%s", logs.String())
	}
}

// TestRetentionLossLoggedAndCounted removes unread events below the group's
// committed offset, as retention does while the worker is down: the rest is
// delivered, and the number lost is logged as an error and counted.
func TestRetentionLossLoggedAndCounted(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	first := namedPlan("a-", 10)
	produce(t, brokers, srcTopic, first)
	rec := newRecorder(time.Millisecond)
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), newCountingObserver(), nil)
	kafkatest.WaitFor(t, "the first events committed", func() bool { return kafkatest.Committed(c, "ordersync", srcTopic)[0] == 10 })
	in.stop(t)

	produce(t, brokers, srcTopic, namedPlan("b-", 40)) // offsets 10..49
	deleteRecords(t, kafkaAdmin(t, brokers), srcTopic, 30)

	obs := &offsetObserver{countingObserver: newCountingObserver()}
	logs := &syncBuffer{}
	in = startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), obs, logs)
	kafkatest.WaitFor(t, "the events left delivered and committed", func() bool {
		return rec.delivered.Load() == 30 && kafkatest.Committed(c, "ordersync", srcTopic)[0] == 50
	})
	in.stop(t)
	if _, lost := obs.counts(); lost != 20 {
		t.Errorf("%d events counted lost to retention, want 20", lost)
	}
	if !strings.Contains(logs.String(), `"level":"error"`) || !strings.Contains(logs.String(), fmt.Sprintf(`"lost":%d`, 20)) {
		t.Errorf("no error line with the count lost in the log:\n%s", logs.String())
	}
}

// TestRetentionLossWhileRunningCounted removes unread events while the
// worker's reader is cut off from the partition: when it reconnects it is
// behind the log start, and the events skipped are logged and counted.
func TestRetentionLossWhileRunningCounted(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	produce(t, brokers, srcTopic, namedPlan("a-", 10))
	rec := newRecorder(time.Millisecond)
	obs := &offsetObserver{countingObserver: newCountingObserver()}
	logs := &syncBuffer{}
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), obs, logs)
	kafkatest.WaitFor(t, "the first events delivered", func() bool { return rec.delivered.Load() == 10 })

	cut := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: srcTopic, Err: kerr.NotLeaderForPartition, Count: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cut.Wait(ctx, 1); err != nil { // a fetch started before the fault has been answered
		t.Fatal(err)
	}
	produce(t, brokers, srcTopic, namedPlan("b-", 40)) // offsets 10..49
	deleteRecords(t, kafkaAdmin(t, brokers), srcTopic, 30)
	cut.Remove()

	kafkatest.WaitFor(t, "the events left delivered and committed", func() bool {
		return rec.delivered.Load() == 30 && kafkatest.Committed(c, "ordersync", srcTopic)[0] == 50
	})
	in.stop(t)
	if _, lost := obs.counts(); lost != 20 {
		t.Errorf("%d events counted lost to retention, want 20", lost)
	}
}

// TestRecreatedTopicRefilledRestartsFromEarliest deletes and recreates the
// source topic once the worker committed the old one, and produces more
// events to the new topic than the old position: the old position is inside
// the new topic, so only its id tells the topics apart. Every event of the
// new topic is delivered; the reset is logged as an error naming the topic and
// counted.
func TestRecreatedTopicRefilledRestartsFromEarliest(t *testing.T) {
	_, obs, logs := recreateRefilled(t, nil)
	if resets, _ := obs.counts(); resets < 1 {
		t.Errorf("%d partition resets counted, want at least 1", resets)
	}
	var found bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"error"`) && strings.Contains(line, "source topic was deleted and recreated") &&
			strings.Contains(line, `"topic":"`+srcTopic+`"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no error line naming %s as deleted and recreated:\n%s", srcTopic, logs.String())
	}
}

// TestRecreatedTopicNotReadFromOldPosition recreates the source topic
// with more events than the old position while the partition watcher does
// not tick: the reader must not go on from the old position inside the new
// topic (skipping, then redelivering out of order, the new topic's first
// events) — every fetch is checked against the topic's id before its
// records are handed on, so the partition restarts from the earliest offset
// at once.
func TestRecreatedTopicNotReadFromOldPosition(t *testing.T) {
	rec, _, _ := recreateRefilled(t, func(cfg *Config) { cfg.PartitionWatchInterval = time.Hour })
	if twice := newDeliveredTwice(rec); len(twice) > 0 {
		t.Errorf("new topic's orders delivered more than once (read from the old position, then again): %v", twice)
	}
}

// recreateRefilled runs a consumer (tweak applied to its configuration)
// until the 30 events of the source topic are delivered and committed,
// deletes and recreates the topic with 80 new events (prefix "new-"),
// waits for every one of them to be delivered and stops the consumer.
func recreateRefilled(t *testing.T, tweak func(*Config)) (*recorder, *offsetObserver, *syncBuffer) {
	t.Helper()
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	produce(t, brokers, srcTopic, namedPlan("old-", 30))
	rec := newRecorder(time.Millisecond)
	obs := &offsetObserver{countingObserver: newCountingObserver()}
	logs := &syncBuffer{}
	in := startConsumerWith(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, rec.uploader("a"), obs, logs, tweak)
	kafkatest.WaitFor(t, "the old topic's events delivered and committed", func() bool {
		return rec.delivered.Load() == 30 && kafkatest.Committed(c, "ordersync", srcTopic)[0] == 30
	})

	recreateTopic(t, kafkaAdmin(t, brokers), srcTopic)
	newPlan := namedPlan("new-", 80)
	produce(t, brokers, srcTopic, newPlan)
	kafkatest.WaitFor(t, "every event of the new topic delivered", func() bool {
		return newDelivered(rec) == len(newPlan)
	})
	in.stop(t)
	return rec, obs, logs
}

// newDeliveredTwice returns the orders of the new topic (prefix "new-")
// delivered more than once.
func newDeliveredTwice(rec *recorder) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []string
	for order, as := range rec.arrivals {
		if strings.HasPrefix(order, "new-") && len(as) > 1 {
			out = append(out, order)
		}
	}
	sort.Strings(out)
	return out
}

// newDelivered counts the distinct orders of the new topic (prefix "new-")
// delivered at least once.
func newDelivered(rec *recorder) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for order, as := range rec.arrivals {
		if strings.HasPrefix(order, "new-") && len(as) > 0 {
			n++
		}
	}
	return n
}
