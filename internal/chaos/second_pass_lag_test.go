package chaos

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/sandbox"
)

// Scenarios of finding 7 of the reliability second pass (docs/reliability.md):
// the lag a worker exports must follow the partitions' ends during a stall,
// and only for the partitions it holds.

const (
	lagsecLagFamily       = "ordersync_consumer_lag_messages"
	lagsecCommittedFamily = "ordersync_committed_offset"
)

// lagsecAdmin returns a franz-go client on the stack's broker.
func lagsecAdmin(h *harness) *kgo.Client {
	h.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.st.Broker), kgo.RequestTimeoutOverhead(5*time.Second))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(cl.Close)
	return cl
}

// lagsecPositions returns, per source partition, its high watermark and the
// group's committed offset (0 when none). Both are read from the broker.
func lagsecPositions(h *harness, cl *kgo.Client) (ends, committed []int64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lreq := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = h.st.Topic
	for p := range partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = int32(p), -1
		lt.Partitions = append(lt.Partitions, rp)
	}
	lreq.Topics = append(lreq.Topics, lt)
	lresp, err := lreq.RequestWith(ctx, cl)
	if err != nil {
		return nil, nil, fmt.Errorf("list offsets: %w", err)
	}
	ends = make([]int64, partitions)
	for _, t := range lresp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, nil, fmt.Errorf("list offsets of partition %d: %w", p.Partition, err)
			}
			ends[p.Partition] = p.Offset
		}
	}
	freq := kmsg.NewPtrOffsetFetchRequest()
	freq.Group = "ordersync"
	ft := kmsg.NewOffsetFetchRequestTopic()
	ft.Topic = h.st.Topic
	for p := range partitions {
		ft.Partitions = append(ft.Partitions, int32(p))
	}
	freq.Topics = append(freq.Topics, ft)
	fresp, err := freq.RequestWith(ctx, cl)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch committed offsets: %w", err)
	}
	if err := kerr.ErrorForCode(fresp.ErrorCode); err != nil {
		return nil, nil, fmt.Errorf("fetch committed offsets: %w", err)
	}
	committed = make([]int64, partitions)
	for _, t := range fresp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, nil, fmt.Errorf("fetch the committed offset of partition %d: %w", p.Partition, err)
			}
			committed[p.Partition] = max(p.Offset, 0)
		}
	}
	return ends, committed, nil
}

func lagsecSum(v []int64) int64 {
	var n int64
	for _, x := range v {
		n += x
	}
	return n
}

// lagsecStalledLag delivers a first batch, then makes the API answer every
// upload 503 (an outage: the worker pauses and holds every event it fetched)
// and produces a second batch of more events than the consumer's windows
// hold, so that the readers stop fetching. The summed lag the worker exports
// must reach exactly what the broker says is unfinished — the partitions'
// ends minus the group's committed offsets, read in the same poll — and be
// the second batch (nothing of it can be committed during the outage). Once
// the outage ends, every event is delivered and the lag is back to 0.
func lagsecStalledLag(t *testing.T, orders, more int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(41, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	cl := lagsecAdmin(h)
	p := h.start()
	h.waitCommitted(h.produced, timeout)
	before := h.produced

	if err := h.st.Sandbox.SetFaults(sandbox.Faults{Outage: &sandbox.Outage{Mode: sandbox.OutageUnavailable}}); err != nil {
		t.Fatal(err)
	}
	batch := laterBatch(42, more, 1)
	// Only events that need the API: a dead letter or a skip needs no
	// upload and could be committed during the outage.
	batch.InvalidPercent, batch.RejectedPercent = 0, 0
	h.produceMore(batch)
	added := h.produced - before
	if added <= int64(partitions*window) {
		t.Fatalf("the second batch has %d events, not more than the consumers' windows (%d): the readers would not stop fetching", added, partitions*window)
	}
	h.waitEndpoint(p, "/readyz", 503, "paused: ", 30*time.Second)

	var exported float64
	var ends, committed []int64
	var err error
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := h.scrapeAll(p)
		exported = m[lagsecLagFamily]
		if ends, committed, err = lagsecPositions(h, cl); err == nil {
			if unfinished := lagsecSum(ends) - lagsecSum(committed); exported == float64(unfinished) && unfinished == added {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("during the outage %s = %.0f; the broker's ends %v minus the committed offsets %v = %d unfinished, %d produced since the last commit (last error %v)",
				lagsecLagFamily, exported, ends, committed, lagsecSum(ends)-lagsecSum(committed), added, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	held := h.metric(p, "ordersync_events_consumed_total")
	t.Logf("API down, %d events produced: %s = %.0f = ends %d − committed %d (consumed %.0f of %d)",
		added, lagsecLagFamily, exported, lagsecSum(ends), lagsecSum(committed), held, h.produced)

	if err := h.st.Sandbox.SetFaults(sandbox.Faults{Rejections: rejectSubMerchant}); err != nil { // the outage ends
		t.Fatal(err)
	}
	h.waitCommitted(h.produced, timeout)
	h.waitMetrics(p, 30*time.Second, "lag back to 0", func(m map[string]float64) bool { return m[lagsecLagFamily] == 0 })
	unknown := h.unknownAttempts(p)
	f, _ := h.result(timeout)
	boundNoCrash(t, f, unknown)
	t.Logf("figures %s: stall of %d events: lag exported %.0f (exactly the unfinished events); %d of %d events delivered after the outage",
		t.Name(), added, exported, f.Delivered, f.ToDeliver)
}

// lagsecSeries returns the partitions of the source topic that p exports a
// series of family for.
func lagsecSeries(h *harness, m map[string]float64, family string) []int32 {
	var out []int32
	for k := range m {
		if !strings.HasPrefix(k, family+"{") || !strings.Contains(k, "topic="+h.st.Topic) {
			continue
		}
		for _, l := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(k, family+"{"), "}"), ",") {
			if v, ok := strings.CutPrefix(l, "partition="); ok {
				if n, err := strconv.Atoi(v); err == nil {
					out = append(out, int32(n))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// lagsecRevokedSeries runs one worker alone until it has delivered and
// committed a first batch (it exports lag and committed offsets for every
// partition), then starts a second: once the group is stable with both,
// each worker's /metrics must carry lag and committed-offset series for
// exactly the partitions the group assigned it (the broker's view of the
// group), none for the ones the first gave away. A second batch is then
// delivered by both.
func lagsecRevokedSeries(t *testing.T, orders int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(43, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	first := h.start()
	h.waitCommitted(h.produced, timeout)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	alone, err := h.st.Cluster.WaitGroupStable(ctx, "ordersync", 1)
	cancel()
	if err != nil {
		t.Fatalf("the group did not settle with the first worker: %v", err)
	}
	firstID := alone.Members[0].MemberID
	all := make([]int32, partitions)
	for i := range all {
		all[i] = int32(i)
	}
	h.waitMetrics(first, 30*time.Second, "series for every partition", func(m map[string]float64) bool {
		return slices.Equal(lagsecSeries(h, m, lagsecLagFamily), all) && slices.Equal(lagsecSeries(h, m, lagsecCommittedFamily), all)
	})

	second := h.start()
	h.handedOver(2)
	var got [2][2][]int32 // worker, family
	var want [2][]int32
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, kept := false, false
		if g := h.st.Cluster.GroupInfo("ordersync"); g != nil && g.State == "Stable" && len(g.Members) == 2 {
			want = [2][]int32{}
			for _, m := range g.Members {
				i := 1
				if m.MemberID == firstID {
					i, kept = 0, true
				}
				want[i] = slices.Sorted(slices.Values(m.Assignment[h.st.Topic]))
			}
			ok = kept
			for i, p := range []*proc{first, second} {
				m := h.scrapeAll(p)
				for j, fam := range []string{lagsecLagFamily, lagsecCommittedFamily} {
					got[i][j] = lagsecSeries(h, m, fam)
					ok = ok && slices.Equal(got[i][j], want[i])
				}
			}
			ok = ok && len(want[0]) > 0 && len(want[0]) < partitions
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the rebalance: the first worker (member id kept: %t) is assigned partitions %v and exports lag for %v, committed offsets for %v; "+
				"the second is assigned %v and exports lag for %v, committed offsets for %v",
				kept, want[0], got[0][0], got[0][1], want[1], got[1][0], got[1][1])
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.produceMore(laterBatch(44, orders, 1))
	f, _ := h.result(timeout)
	t.Logf("figures %s: after the rebalance the first worker exports series for partitions %v (assigned %v), the second for %v (assigned %v); %d of %d events delivered",
		t.Name(), got[0][0], want[0], got[1][0], want[1], f.Delivered, f.ToDeliver)
}
