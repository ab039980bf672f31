package chaos

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// Scenarios of the reliability second pass (docs/reliability.md, "Second-pass
// findings: where each is tested"): each breaks the real worker binary the
// way a finding did, and checks what an operator sees and that nothing
// deliverable is lost.

// admin returns a franz-go client on the stack's broker for the topic
// operations kafka-go's client lacks (delete records).
func (h *harness) admin() *kgo.Client {
	h.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.st.Broker), kgo.RequestTimeoutOverhead(5*time.Second))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(cl.Close)
	return cl
}

func adminCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// deleteTopic deletes topic at the broker.
func (h *harness) deleteTopic(cl *kgo.Client, topic string) {
	h.t.Helper()
	ctx, cancel := adminCtx()
	defer cancel()
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TopicNames = []string{topic}
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		h.t.Fatalf("delete topic %s: %v", topic, err)
	}
}

// createTopic creates topic with n partitions.
func (h *harness) createTopic(cl *kgo.Client, topic string, n int32) {
	h.t.Helper()
	ctx, cancel := adminCtx()
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, n, 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		h.t.Fatalf("create topic %s: %v", topic, err)
	}
}

// ends returns the high watermark of every source partition.
func (h *harness) ends(cl *kgo.Client) []int64 {
	h.t.Helper()
	ctx, cancel := adminCtx()
	defer cancel()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = h.st.Topic
	for p := range partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = int32(p), -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		h.t.Fatalf("list offsets of %s: %v", h.st.Topic, err)
	}
	out := make([]int64, partitions)
	for _, p := range resp.Topics[0].Partitions {
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			h.t.Fatalf("list offsets of %s/%d: %v", h.st.Topic, p.Partition, err)
		}
		out[p.Partition] = p.Offset
	}
	return out
}

// deleteRecordsBelow removes every source partition's records below
// below[p], as retention does, and returns how many it removed above from[p].
func (h *harness) deleteRecordsBelow(cl *kgo.Client, from, below []int64) int64 {
	h.t.Helper()
	ctx, cancel := adminCtx()
	defer cancel()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = h.st.Topic
	var n int64
	for p := range partitions {
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = int32(p), below[p]
		rt.Partitions = append(rt.Partitions, rp)
		n += below[p] - from[p]
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		h.t.Fatalf("delete records of %s: %v", h.st.Topic, err)
	}
	for _, p := range resp.Topics[0].Partitions {
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			h.t.Fatalf("delete records of %s/%d: %v", h.st.Topic, p.Partition, err)
		}
	}
	return n
}

// committedEach returns the group's committed offset of every source
// partition (-1: none).
func (h *harness) committedEach(cl *kgo.Client) ([]int64, error) {
	ctx, cancel := adminCtx()
	defer cancel()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = "ordersync"
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = h.st.Topic
	for p := range partitions {
		rt.Partitions = append(rt.Partitions, int32(p))
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, err
	}
	out := make([]int64, partitions)
	for i := range out {
		out[i] = -1
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, err
			}
			out[p.Partition] = p.Offset
		}
	}
	return out, nil
}

// waitCommittedEach waits until every source partition's committed offset
// is exactly its high watermark: what the sum in waitCommitted cannot tell
// once a topic was recreated and old commits are higher than its ends.
func (h *harness) waitCommittedEach(cl *kgo.Client, timeout time.Duration) {
	h.t.Helper()
	ends := h.ends(cl)
	deadline := time.Now().Add(timeout)
	var got []int64
	var err error
	for time.Now().Before(deadline) {
		if got, err = h.committedEach(cl); err == nil && slices.Equal(got, ends) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("committed offsets %v (last error %v), want the partitions' ends %v after %s\n%s", got, err, ends, timeout, h.tails())
}

// logOf returns everything p has logged so far.
func (h *harness) logOf(p *proc) string {
	h.t.Helper()
	b, err := os.ReadFile(p.log.Name())
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// linesWith returns p's log lines that contain every one of parts.
func (h *harness) linesWith(p *proc, parts ...string) []string {
	var out []string
	for _, line := range strings.Split(h.logOf(p), "\n") {
		ok := line != ""
		for _, s := range parts {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// laterBatch is a sample of other orders than the scenario's first ones.
func laterBatch(seed uint64, orders, days int) sample.Options {
	o := mixed(seed, orders)
	o.Start = time.Now().AddDate(0, 0, days)
	return o
}

// recreatedTopic delivers a first batch, then deletes the source topic and
// creates it again at once, with the worker running, and produces a second,
// smaller batch: every partition's old position is past the new end. Every
// event of the new topic must be delivered, the reset logged as an error
// and counted.
func recreatedTopic(t *testing.T, orders int, timeout time.Duration) {
	recreatedTopicWith(t, orders, orders/4, timeout)
}

// recreatedTopicLarger is recreatedTopic with a second batch larger than the
// first: every partition's old position is inside the new topic, so only the
// topic's id tells the topics apart. The new id is logged as an error naming
// the topic.
func recreatedTopicLarger(t *testing.T, orders int, timeout time.Duration) {
	recreatedTopicWith(t, orders, 3*orders, timeout)
}

// recreatedTopicWith runs the recreated-topic scenario with a first batch of
// orders and a second, on the new topic, of second orders.
func recreatedTopicWith(t *testing.T, orders, second int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(21, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	cl := h.admin()
	p := h.start()
	h.waitCommitted(h.produced, timeout)
	old := h.ends(cl)

	larger := second > orders
	h.deleteTopic(cl, h.st.Topic)
	h.createTopic(cl, h.st.Topic, partitions)
	h.produceMore(laterBatch(22, second, 1))
	newEnds := h.ends(cl)
	h.produced = 0 // the new topic's records only: the old commits are gone with it
	for _, n := range newEnds {
		h.produced += n
	}
	for i := range old {
		if !larger && newEnds[i] >= old[i] {
			t.Fatalf("partition %d: new end %d not below the old position %d; the scenario would not put the reader past the end", i, newEnds[i], old[i])
		}
		if larger && newEnds[i] <= old[i] {
			t.Fatalf("partition %d: new end %d not above the old position %d; the scenario would not put the reader inside the new topic", i, newEnds[i], old[i])
		}
	}
	if larger {
		// Only the topic's id tells this topic from the old one, the
		// readers' positions being inside it: wait for every partition's
		// reset, then for every event of the new topic, before the commits
		// are trusted. The API stays up: no event of the new topic may be
		// read from an old position (it would arrive out of order, or twice).
		h.waitMetrics(p, timeout, "every partition reset", func(m map[string]float64) bool {
			return m["ordersync_partition_resets_total"] >= partitions
		})
		h.waitDelivered(timeout)
	}
	h.waitCommittedEach(cl, timeout)
	resets := h.metric(p, "ordersync_partition_resets_total")
	lines := h.linesWith(p, `"level":"error"`, "restarting from the earliest offset")
	f, _ := h.result(timeout)
	if resets == 0 {
		t.Error("ordersync_partition_resets_total = 0 after the topic was recreated")
	}
	if len(lines) == 0 {
		t.Error("no error line saying the partition restarts from the earliest offset")
	}
	if larger && len(h.linesWith(p, `"level":"error"`, "source topic was deleted and recreated", `"topic":"`+h.st.Topic+`"`)) == 0 {
		t.Errorf("no error line naming %s as deleted and recreated", h.st.Topic)
	}
	t.Logf("source topic recreated (old ends %v, new %v): %.0f partition resets, %d error lines; %d of %d events delivered",
		old, newEnds, resets, len(lines), f.Delivered, f.ToDeliver)
}

// waitDelivered waits until the sandbox has recorded every event the run
// must deliver at least once.
func (h *harness) waitDelivered(timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f, _ := check(h.want, observation{uploads: h.st.Sandbox.Records()})
		if f.Delivered >= f.ToDeliver {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d of %d events delivered after %s\n%s", f.Delivered, f.ToDeliver, timeout, h.tails())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// retentionLoss stops the worker after a first batch, produces a second
// batch, removes it unread as retention would, produces a third and starts
// a worker: the removed events are logged as lost with their count and
// counted in ordersync_events_lost_to_retention_total exactly; everything
// else is delivered.
func retentionLoss(t *testing.T, orders int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(23, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	cl := h.admin()
	p := h.start()
	h.waitCommitted(h.produced, timeout)
	h.terminate(p)

	from := h.ends(cl)
	lost := sample.Generate(laterBatch(24, orders/3, 1)) // not expected: retention removes them
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.st.Produce(ctx, lost); err != nil {
		t.Fatal(err)
	}
	h.produced += int64(len(lost))
	removed := h.deleteRecordsBelow(cl, from, h.ends(cl))
	if removed != int64(len(lost)) {
		t.Fatalf("removed %d records, produced %d to remove", removed, len(lost))
	}
	h.produceMore(laterBatch(25, orders/3, 2))

	p = h.start()
	h.waitCommitted(h.produced, timeout)
	counted := h.metric(p, "ordersync_events_lost_to_retention_total")
	var logged int64
	lines := h.linesWith(p, `"level":"error"`, `"lost":`)
	for _, line := range lines {
		var n int64
		if i := strings.Index(line, `"lost":`); i >= 0 {
			_, _ = fmt.Sscanf(line[i+len(`"lost":`):], "%d", &n)
		}
		logged += n
	}
	f, _ := h.result(timeout)
	if counted != float64(removed) {
		t.Errorf("ordersync_events_lost_to_retention_total = %.0f, want the %d removed", counted, removed)
	}
	if logged != removed {
		t.Errorf("error lines name %d events lost (%d lines), want the %d removed", logged, len(lines), removed)
	}
	t.Logf("retention removed %d unread events: %d error lines naming %d lost, metric %.0f; %d of %d others delivered",
		removed, len(lines), logged, counted, f.Delivered, f.ToDeliver)
}

// silentBrokerRun points `worker run` at an address that accepts TCP and
// never speaks Kafka. Once the worker has sent it a request, SIGTERM ends
// it within the exit bound. With joinBound, it first waits that long for
// /healthz to fail (the worker never joins its group).
func silentBrokerRun(t *testing.T, joinBound time.Duration) {
	h := newHarness(t, options{sample: mixed(26, 5)})
	b := kafkatest.SilentBroker(t)
	p := h.start("ORDERSYNC_BROKERS=" + b.Addr())
	b.WaitAsked(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	health, _, err := p.Get(ctx, "/healthz")
	cancel()
	t.Logf("/healthz before the join bound: %d (%v)", health, err)
	if joinBound > 0 {
		body := h.waitEndpoint(p, "/healthz", 503, "not in consumer group", joinBound)
		t.Logf("/healthz against a silent broker: 503 %q", body)
	}
	at := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait(exitBound)
	took := time.Since(at)
	p.done = true
	if err != nil {
		t.Fatalf("worker against a silent broker did not exit on SIGTERM within %s: %v\n%s", exitBound, err, h.tail(p))
	}
	h.scan()
	t.Logf("figures %s: silent broker sent %d bytes; SIGTERM → exit status %d after %s (bound %s)",
		t.Name(), b.Received(), code, took.Round(10*time.Millisecond), exitBound)
}

// silentBrokerDLQ runs `worker dlq --timeout 2s` against a silent broker:
// it must exit non-zero with one line saying Kafka did not answer in time.
func silentBrokerDLQ(t *testing.T) {
	h := newHarness(t, options{sample: mixed(27, 5)})
	b := kafkatest.SilentBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, workerBin, "dlq", "--timeout", "2s")
	cmd.Env = h.st.WorkerEnv(append(baseEnv(), "ORDERSYNC_BROKERS="+b.Addr())...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	at := time.Now()
	err := cmd.Run()
	took := time.Since(at)
	if ctx.Err() != nil {
		t.Fatalf("worker dlq --timeout 2s still running after a minute against a silent broker")
	}
	out := strings.TrimSpace(stderr.String())
	if err == nil || cmd.ProcessState.ExitCode() == 0 {
		t.Errorf("worker dlq --timeout 2s against a silent broker: exit 0, want a failure; stderr %q", out)
	}
	if !strings.Contains(out, "no answer from Kafka within 2s") || strings.Count(out, "\n") != 0 {
		t.Errorf("stderr %q; want one line saying Kafka did not answer within 2s", out)
	}
	if b.Received() == 0 {
		t.Error("worker dlq sent the broker address nothing: the scenario did not reach it")
	}
	t.Logf("figures %s: exit status %d after %s: %s", t.Name(), cmd.ProcessState.ExitCode(), took.Round(10*time.Millisecond), out)
}

// dlqDeleted delivers a first batch of valid events, then deletes the
// dead-letter topic with the worker running and holds its creation off
// (every CreateTopics refused) while a mixed batch arrives: /readyz reports
// the topic unwritable, the failed writes are aggregated into a few warn
// lines, and once creation is allowed again the worker recreates the topic
// and dead-letters every bad event of the batch into it.
func dlqDeleted(t *testing.T, orders int, timeout time.Duration) {
	first := mixed(28, orders)
	first.InvalidPercent, first.RejectedPercent = 0, 0
	h := newHarness(t, options{sample: first, faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	cl := h.admin()
	p := h.start()
	h.waitCommitted(h.produced, timeout)

	refused := h.st.Cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.CreateTopics}, Err: kerr.PolicyViolation, Count: -1})
	h.deleteTopic(cl, h.st.DLQTopic)
	gone := time.Now()
	more := laterBatch(29, orders, 1)
	more.InvalidPercent = 25
	h.produceMore(more)
	body := h.waitEndpoint(p, "/readyz", 503, "not ready: dead-letter topic unwritable", 60*time.Second)
	failures := h.metric(p, "ordersync_dead_letter_write_failures_total")
	refused.Remove()
	h.waitCommitted(h.produced, timeout)
	unwritable := time.Since(gone)
	h.waitEndpoint(p, "/readyz", 200, "ok", 30*time.Second)
	warns := h.linesWith(p, `"level":"warn"`, "dead-letter writes failing")
	created := h.linesWith(p, "created the missing dead-letter topic")
	failures = max(failures, h.metric(p, "ordersync_dead_letter_write_failures_total"))
	unknown := h.unknownAttempts(p)
	f, _ := h.result(timeout)
	boundNoCrash(t, f, unknown)
	if len(created) == 0 {
		t.Error("no line saying the dead-letter topic was created again")
	}
	// One aggregated line per 10 s interval (docs/runbook.md), plus the
	// first; the bound leaves one more interval of slack.
	if limit := int(unwritable/(10*time.Second)) + 3; len(warns) > limit {
		t.Errorf("%d warn lines about failing dead-letter writes over %s, want at most %d (one per interval)", len(warns), unwritable.Round(time.Second), limit)
	}
	if failures <= float64(len(warns)) {
		t.Errorf("%.0f dead-letter writes failed and %d warn lines: the aggregation was not exercised", failures, len(warns))
	}
	t.Logf("dead-letter topic deleted for %s: /readyz 503 %q; %.0f failed writes in %d warn lines; recreated; %d of %d bad events dead-lettered",
		unwritable.Round(100*time.Millisecond), body, failures, len(warns), f.DeadLetters, f.ToDLQ)
}

// wrongPassword runs the worker against a broker with SASL/PLAIN and the
// wrong password: it must end at start with exit 2 and a line naming the
// settings, never showing the password.
func wrongPassword(t *testing.T) {
	h := newHarness(t, options{sample: mixed(30, 5)})
	const password = "not-the-right-password-7f3a"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("PLAIN", "ordersync", "the-right-one"),
		kfake.SeedTopics(partitions, h.st.Topic), kfake.SeedTopics(3, h.st.DLQTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	p := h.start("ORDERSYNC_BROKERS="+c.ListenAddrs()[0], "ORDERSYNC_KAFKA_SASL_MECHANISM=PLAIN",
		"ORDERSYNC_KAFKA_USERNAME=ordersync", "ORDERSYNC_KAFKA_PASSWORD="+password)
	code, err := p.Wait(time.Minute)
	p.done = true
	if err != nil {
		t.Fatalf("worker with a wrong Kafka password: %v\n%s", err, h.tail(p))
	}
	logs := strings.TrimSpace(h.logOf(p))
	last := logs[strings.LastIndex(logs, "\n")+1:]
	if code != 2 || !strings.Contains(last, "ORDERSYNC_KAFKA_USERNAME") || !strings.Contains(last, "ORDERSYNC_KAFKA_PASSWORD") {
		t.Errorf("exit status %d, last line %q; want 2 and a line naming ORDERSYNC_KAFKA_USERNAME and ORDERSYNC_KAFKA_PASSWORD", code, last)
	}
	if strings.Contains(logs, password) {
		t.Error("the worker's output shows the Kafka password")
	}
	h.scan()
	t.Logf("figures %s: exit status %d: %s", t.Name(), code, last)
}

// idleScenarioTimeout bounds the idle-connection scenario's deliveries (a
// small sample).
const idleScenarioTimeout = 90 * time.Second

// openFDs counts the file descriptors process pid holds.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("count the worker's file descriptors: %v", err)
	}
	return len(fds)
}

// idleConnections opens n connections of each kind to the worker's HTTP
// endpoint and leaves them: "silent" sends nothing, "stalled body" sends a
// request's headers announcing a body it never sends, and with keepAlive
// "keep-alive" makes one whole request and then stays idle. The worker
// must close every one of them by itself (ReadHeaderTimeout, ReadTimeout,
// IdleTimeout) within bound, and its file descriptors fall back to what
// they were.
func idleConnections(t *testing.T, n int, keepAlive bool, bound time.Duration) {
	h := newHarness(t, options{sample: mixed(31, 40), faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	p := h.start()
	h.waitCommitted(h.produced, idleScenarioTimeout)
	h.waitEndpoint(p, "/readyz", 200, "ok", 30*time.Second)
	base := openFDs(t, p.Pid())

	var wg sync.WaitGroup
	var mu sync.Mutex
	closed := map[string]int{}
	var problems []string
	conns := 0
	open := func(kind, request string) {
		c, err := net.DialTimeout("tcp", p.HTTPAddr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d to the worker: %v", conns+1, err)
		}
		conns++
		t.Cleanup(func() { _ = c.Close() })
		wg.Go(func() {
			_ = c.SetDeadline(time.Now().Add(bound))
			if request != "" {
				if _, err := c.Write([]byte(request)); err != nil {
					mu.Lock()
					problems = append(problems, "write a request: "+err.Error())
					mu.Unlock()
					return
				}
			}
			// Read (and drop) any answer until the worker closes the
			// connection; the deadline ends the wait if it never does.
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					mu.Lock()
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						problems = append(problems, kind+" connection still open after "+bound.String())
					} else {
						closed[kind]++
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	for range n {
		open("silent", "")
		open("stalled body", "GET /healthz HTTP/1.1\r\nHost: worker\r\nContent-Length: 1000\r\n\r\n")
		if keepAlive {
			open("keep-alive", "GET /healthz HTTP/1.1\r\nHost: worker\r\n\r\n")
		}
	}
	// Every connection accepted: the worker holds a descriptor for each.
	for deadline := time.Now().Add(30 * time.Second); openFDs(t, p.Pid()) < base+conns*9/10; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the worker holds %d descriptors, %d before %d connections", openFDs(t, p.Pid()), base, conns)
		}
	}
	peak := openFDs(t, p.Pid())
	wg.Wait()
	for i, pr := range problems {
		if i == maxProblems {
			t.Errorf("%d more", len(problems)-i)
			break
		}
		t.Error(pr)
	}
	var after int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if after = openFDs(t, p.Pid()); after <= base+5 || time.Now().After(deadline) {
			break
		}
	}
	if after > base+5 {
		t.Errorf("the worker holds %d descriptors after every idle connection ended, %d before them", after, base)
	}
	f, _ := h.result(idleScenarioTimeout)
	t.Logf("figures %s: %d idle connections (%v closed by the worker); worker descriptors %d before, %d with them open, %d after; %d of %d events delivered",
		t.Name(), conns, closed, base, peak, after, f.Delivered, f.ToDeliver)
}

// oneFailingOrder makes the sandbox answer every upload of one order 500
// while the others flow: the worker must not pause (ordersync_upload_paused
// 0, /readyz 200) and must deliver every other order. Once the order's
// fault is lifted, everything is delivered.
func oneFailingOrder(t *testing.T, orders int, timeout time.Duration) {
	opts := mixed(32, orders)
	opts.Interleave = false // orders one after the other: the last one produced is last in its partition
	h := newHarness(t, options{sample: opts, faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	// The failing order is the last deliverable one produced: no event of
	// another order waits behind it in its partition, so every other order
	// can be delivered while it fails, whatever the consumer's window.
	var bad string
	for _, ev := range h.events {
		if _, ok := h.want.byEvent[ev.EventID]; ok {
			bad = ev.OrderNo
		}
	}
	perOrder := map[string]int{}
	for _, ref := range h.want.byEvent {
		perOrder[ref.order]++
	}
	failing := sandbox.Faults{Rejections: append([]sandbox.Rejection{{OrderNo: bad, Status: 500, Code: "SYSTEM_ERROR",
		Message: "system error"}}, rejectSubMerchant...)}
	if err := h.st.Sandbox.SetFaults(failing); err != nil {
		t.Fatal(err)
	}
	others := 0
	for _, ref := range h.want.byEvent {
		if ref.order != bad {
			others++
		}
	}
	p := h.start()
	deadline := time.Now().Add(timeout)
	for {
		seen := map[string]bool{}
		for _, r := range h.st.Sandbox.Records() {
			if ref, ok := h.want.valid[string(r.Body)]; ok && ref.order != bad {
				seen[ref.eventID] = true
			}
		}
		if len(seen) == others {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d events of other orders delivered, %d answers 500 to order %s after %s\n%s",
				len(seen), others, h.st.Sandbox.Stats().ByStatus[500], bad, timeout, h.tails())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// From here on only the failing order is uploaded: twice the breaker's
	// threshold (5) of 500s in a row, no success between them, pauses a
	// worker that does not tell one order's failures from an outage.
	after := h.st.Sandbox.Stats().ByStatus[500]
	for h.st.Sandbox.Stats().ByStatus[500] < after+10 {
		if time.Now().After(deadline) {
			t.Fatalf("order %s answered 500 only %d times after the others were delivered, within %s", bad, h.st.Sandbox.Stats().ByStatus[500]-after, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	answered500 := h.st.Sandbox.Stats().ByStatus[500]
	code, ready := h.get(p, "/readyz")
	paused := h.metric(p, "ordersync_upload_paused")
	if code != 200 || paused != 0 {
		t.Errorf("with one order failing: /readyz %d %q, ordersync_upload_paused %.0f; want 200 and 0 (the API is fine)", code, ready, paused)
	}
	if lines := h.linesWith(p, "uploads paused"); len(lines) > 0 {
		t.Errorf("the worker paused uploads for one failing order: %s", lines[0])
	}
	if err := h.st.Sandbox.SetFaults(sandbox.Faults{Rejections: rejectSubMerchant}); err != nil { // the order is fixed
		t.Fatal(err)
	}
	unknown := h.unknownAttempts(p)
	f, _ := h.result(timeout)
	boundNoCrash(t, f, unknown)
	t.Logf("order %s (%d events) answered 500 %d times (%d in a row after every other order was delivered) while %d events of other orders were delivered: /readyz %d, paused %.0f",
		bad, perOrder[bad], answered500, answered500-after, others, code, paused)
}

// skewedTimestamp makes the sandbox stamp every 2xx answer 10 min off the
// worker's clock for a while: the worker must pause as for a deployment
// fault that names the clock (not "upstream unavailable"), say so in
// /readyz and the log, and deliver everything once the clocks agree.
func skewedTimestamp(t *testing.T, orders int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(33, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant},
		env: []string{"ORDERSYNC_RATE_LIMIT=150"}})
	p := h.start()
	h.waitFraction(0.2, timeout)
	before := h.st.Sandbox.Stats().ByStatus[204]
	if err := h.st.Sandbox.SetFaults(sandbox.Faults{Rejections: rejectSubMerchant, TimestampSkew: sandbox.Duration(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	body := h.waitEndpoint(p, "/readyz", 503, "paused: ", 30*time.Second)
	if strings.Contains(body, "upstream unavailable") {
		t.Errorf("/readyz with skewed response timestamps: %q; want a deployment fault, not an outage", body)
	}
	lines := h.linesWith(p, "uploads paused", "clock")
	if len(lines) == 0 {
		t.Errorf("no log line pausing uploads that names the clock\n%s", h.tail(p))
	}
	if err := h.st.Sandbox.SetFaults(sandbox.Faults{Rejections: rejectSubMerchant}); err != nil { // NTP fixed
		t.Fatal(err)
	}
	// Requests already in the sandbox when the fault ended may still be
	// answered skewed: count the accepted answers once every one received
	// is answered (an upper bound on the ones the worker could not trust).
	h.settle()
	skewed := h.st.Sandbox.Stats().ByStatus[204] - before
	h.waitEndpoint(p, "/readyz", 200, "ok", 30*time.Second)
	// Each answer the worker could not trust may be repeated; nothing else.
	f, _ := h.result(timeout)
	if f.DupUploads > int(skewed) || f.DupDLQ != 0 {
		t.Errorf("%d duplicate uploads (at most the %d answers with a skewed timestamp), %d duplicate dead letters", f.DupUploads, skewed, f.DupDLQ)
	}
	t.Logf("skewed response timestamps: /readyz 503 %q, %d pause lines naming the clock; %d accepted answers untrusted, %d duplicate uploads",
		body, len(lines), skewed, f.DupUploads)
}
