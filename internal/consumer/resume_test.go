package consumer

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// TestResumeSkipsWhatIsFinished covers a partition coming back after a
// generation whose commit did not land, or to a new owner: it resumes past
// the contiguous offsets this process finished and skips the ones finished
// behind an unfinished event — but only while the group's committed offset
// is still the last one this process landed; after another member
// committed, it starts from that commit. The offsets the last commit's
// metadata names (ahead) are skipped either way.
func TestResumeSkipsWhatIsFinished(t *testing.T) {
	tests := []struct {
		name       string
		giveLanded int64 // last commit of this process the broker took (-1 none)
		giveStart  int64 // committed offset the group hands out
		giveGen    int32 // generation of the assignment; the old one was 7
		giveAhead  []offsetRange
		wantStart  int64
		wantSkip   []offsetRange
	}{
		{"commit lost", 5, 5, 9, nil, 10, []offsetRange{{12, 12}, {15, 15}}},
		{"no commit ever", -1, -2, 9, nil, 10, []offsetRange{{12, 12}, {15, 15}}},
		{"final commit landed", 10, 10, 9, nil, 10, []offsetRange{{12, 12}, {15, 15}}},
		{"another member committed", 5, 13, 9, nil, 13, nil},
		{"another member committed further", 10, 20, 9, nil, 20, nil},
		{"next generation, commit acknowledged but not seen", 5, 8, 8, nil, 10, []offsetRange{{12, 12}, {15, 15}}},
		{"next generation, someone committed further", 5, 13, 8, nil, 13, []offsetRange{{15, 15}}},
		{"another member committed, with metadata", 5, 13, 9, []offsetRange{{15, 17}, {20, 20}}, 13, []offsetRange{{15, 17}, {20, 20}}},
		{"own record and metadata joined", 5, 5, 9, []offsetRange{{11, 11}, {16, 18}}, 10, []offsetRange{{11, 12}, {15, 18}}},
		{"metadata below the start dropped", 5, 5, 9, []offsetRange{{6, 9}, {13, 13}}, 10, []offsetRange{{12, 13}, {15, 15}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestConsumer(t)
			// An earlier generation finished 0–9, 12 and 15; 10 was abandoned.
			old := c.newPartition("orders", 0, 0)
			now := time.Now()
			for off := int64(0); off < 16; off++ {
				old.tracker.add(off, now, 16)
			}
			for _, off := range []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15} {
				old.tracker.finish(off)
			}
			if tt.giveLanded >= 0 {
				old.tracker.committed(tt.giveLanded, "")
			}
			c.remember(old, 7)

			p := c.newPartition("orders", 0, tt.giveStart)
			n := c.resume(p, tt.giveGen, tt.giveAhead)
			if got := p.tracker.skip; p.start != tt.wantStart || !slices.Equal(got, tt.wantSkip) {
				t.Errorf("start %d skip %v, want %d %v", p.start, got, tt.wantStart, tt.wantSkip)
			}
			var want int64
			for _, r := range tt.wantSkip {
				want += r.last - r.first + 1
			}
			if n != want {
				t.Errorf("resume says %d offsets will be passed over, want %d", n, want)
			}
			if off, _, ok := p.tracker.committable(maxMetaBytes); tt.wantStart == 10 && tt.giveStart < 10 && (!ok || off != 10) {
				t.Errorf("committable %d %v, want 10 at once", off, ok)
			}
			if _, ok := c.finished[topicPartition{"orders", 0}]; ok {
				t.Error("progress kept after the partition was resumed")
			}
		})
	}
}

// TestResumeNothingContiguousFinished: a generation that finished only
// offsets behind an unfinished first one, with nothing ever committed, must
// not move the start (kafka.FirstOffset) anywhere — least of all to -1,
// which kafka-go reads as the end of the partition.
func TestResumeNothingContiguousFinished(t *testing.T) {
	c := newTestConsumer(t)
	old := c.newPartition("orders", 0, -2)
	now := time.Now()
	for off := int64(0); off < 4; off++ {
		old.tracker.add(off, now, 4)
	}
	old.tracker.finish(2)
	c.remember(old, 7)
	p := c.newPartition("orders", 0, -2)
	c.resume(p, 8, nil)
	if want := []offsetRange{{2, 2}}; p.start != -2 || !slices.Equal(p.tracker.skip, want) {
		t.Errorf("start %d skip %v, want -2 %v", p.start, p.tracker.skip, want)
	}
}

func newTestConsumer(t *testing.T) *Consumer {
	t.Helper()
	c, err := New(Config{Brokers: []string{"127.0.0.1:1"}, Topics: []string{"orders"}, GroupID: "g",
		DLQTopic: "orders.dlq", DeadLetters: testDeadLetters(t, []string{"127.0.0.1:1"}), MaxInFlight: 4}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHandoffPassesOverWhatThePreviousOwnerFinished: the first event of a
// partition hangs, so its commit stays at offset 0 while every later order
// is delivered. The next owner — another instance — uploads only the
// unfinished events: the commit's metadata names the rest finished.
// Without it, every event would be uploaded twice, older states after newer.
func TestHandoffPassesOverWhatThePreviousOwnerFinished(t *testing.T) {
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	p, ends := produceFirstHangs(t, brokers, 10, 3)

	rec := newRecorder(time.Millisecond)
	a := startConsumer(t, brokers, "a", 8, 500*time.Millisecond, fakeMapper{}, rec.uploader("a"), nil, nil)
	kafkatest.WaitFor(t, "every order but the hanging one delivered", func() bool { return rec.delivered.Load() == 27 })
	kafkatest.WaitFor(t, "finished offsets in the commit's metadata", func() bool {
		return strings.HasPrefix(commitMetadata(c)[0], metaPrefix+" 0 ")
	})
	if cm := c.GroupInfo("ordersync").Commits[srcTopic][0]; cm.LeaderEpoch != -1 {
		t.Errorf("commit carries leader epoch %d, want -1 (unknown)", cm.LeaderEpoch)
	}
	if last, _ := a.c.Progress(); !last.IsZero() {
		t.Errorf("last commit at %v: a commit of metadata alone counted as progress (/healthz would not see the stuck partition)", last)
	}
	a.stop(t)
	if got := kafkatest.Committed(c, "ordersync", srcTopic)[0]; got != 0 {
		t.Fatalf("committed %d before the handoff, want 0 (the hanging event)", got)
	}
	t.Logf("commit metadata at the handoff: %q", commitMetadata(c)[0])

	rec.hangOff.Store(true)
	b := startConsumer(t, brokers, "b", 8, 5*time.Second, fakeMapper{}, rec.uploader("b"), nil, nil)
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	b.stop(t)
	rec.checkOrder(t, p.ok)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for order, as := range rec.arrivals {
		for _, a := range as {
			if a.instance == "b" && order != "order-000" {
				t.Errorf("b uploaded %s seq %d again", order, a.seq)
			}
		}
	}
	if got := len(rec.arrivals["order-000"]); got != 3 {
		t.Errorf("order-000 uploaded %d times, want its 3 events once each", got)
	}
}

// TestMetadataRefusedByTheBroker: a broker whose offset.metadata.max.bytes
// is smaller than ordersync's metadata, or whose offsets topic cannot take a
// commit that large, refuses those commits; the worker says so once,
// commits without metadata from then on, and the next owner simply
// redelivers — nothing lost, nothing skipped.
func TestMetadataRefusedByTheBroker(t *testing.T) {
	for _, code := range []*kerr.Error{kerr.OffsetMetadataTooLarge, kerr.InvalidCommitOffsetSize} {
		t.Run(code.Message, func(t *testing.T) { metadataRefused(t, code.Code) })
	}
}

func metadataRefused(t *testing.T, code int16) {
	c := newCluster(t, 1)
	var refused atomic.Int64
	c.ControlKey(int16(kmsg.OffsetCommit), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.OffsetCommitRequest)
		withMeta := false
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				withMeta = withMeta || (p.Metadata != nil && *p.Metadata != "")
			}
		}
		if !withMeta {
			return nil, nil, false
		}
		refused.Add(1)
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	brokers := c.ListenAddrs()
	p, ends := produceFirstHangs(t, brokers, 6, 2)

	rec := newRecorder(time.Millisecond)
	logs := &syncBuffer{}
	a := startConsumer(t, brokers, "a", 8, 300*time.Millisecond, fakeMapper{}, rec.uploader("a"), nil, logs)
	kafkatest.WaitFor(t, "every order but the hanging one delivered", func() bool { return rec.delivered.Load() == 10 })
	kafkatest.WaitFor(t, "a commit refused for its metadata", func() bool { return refused.Load() > 0 })
	a.stop(t)
	if n := strings.Count(logs.String(), "refuses commits with ordersync's offset metadata"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once", n)
	}
	if n := refused.Load(); n != 1 {
		t.Errorf("%d commits with metadata were sent after the first refusal, want none", n-1)
	}
	rec.hangOff.Store(true)
	b := startConsumer(t, brokers, "b", 8, 5*time.Second, fakeMapper{}, rec.uploader("b"), nil, nil)
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	b.stop(t)
	rec.checkOrder(t, p.ok)
	if d := rec.duplicates(); d != 10 {
		t.Errorf("%d duplicate uploads, want the 10 events finished behind the hanging one", d)
	}
}

// produceFirstHangs produces orders×perOrder events to a one-partition
// source topic, the first of which hangs; it returns the plan and the end
// offsets.
func produceFirstHangs(t *testing.T, brokers []string, orders, perOrder int) (plan, map[int32]int64) {
	t.Helper()
	p := makePlan(orders, perOrder, func(o, s int) string {
		if o == 0 && s == 0 {
			return "hang"
		}
		return "ok"
	})
	produce(t, brokers, srcTopic, p.msgs)
	return p, kafkatest.EndOffsets(t, brokers[0], srcTopic)
}
