package chaos

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// Finding 9 of the second pass (docs/reliability.md, "Second-pass findings:
// where each is tested"): the real `worker replay` binary interrupted by
// SIGTERM while a batch is at the broker, run twice at once on one
// dead-letter topic, and pointed at a replay ledger retention would empty
// and at a --to topic that does not exist. The dead letters are written in
// the dead-letter writer's own format (dlq.Record.Message) and republished
// to their original topic, the source topic, where no worker runs.

// replayExitBound is how long a `worker replay` process may take to exit:
// an interrupted one finishes its batch and ledger write first (at most
// 4 × --timeout, here the 30 s default, docs/runbook.md); the rest is slack
// for a busy machine, not a measurement.
const replayExitBound = 3 * time.Minute

// replayBatch is the most records one republish batch holds (docs/runbook.md):
// what an interrupted replay may still write after the signal.
const replayBatch = 100

// replayFixture is a dead-letter topic seeded with records whose originals
// are not on the source topic, and every replay run against it.
type replayFixture struct {
	h *harness
	// ids maps a record's identity on the destination (key and value) to
	// its index; byPos maps its dead-letter position ("partition/offset").
	ids   map[string]int
	byPos map[string]int
	n     int

	mu      sync.Mutex
	outputs [][]byte // every run's stdout and stderr, for the secret scan
}

// replayIdentity is what tells two records apart on the destination: a
// republish keeps the key and the value.
func replayIdentity(key, value []byte) string { return string(key) + "\x00" + string(value) }

// replaySeed starts a scenario with a small source topic and writes every
// event of the sample opts to the dead-letter topic as the worker would
// have dead-lettered it: invalid events as invalid_event, the others as
// rejected, each with a distinct original position on the source topic.
func replaySeed(t *testing.T, opts sample.Options) *replayFixture {
	h := newHarness(t, options{sample: mixed(40, 3), faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	// Dead letters exist where a worker ran: it also created the delivery
	// ledger topic, which a dry run reads.
	p := h.start()
	h.waitCommitted(h.produced, time.Minute)
	h.terminate(p)
	var events []sample.Event
	f := &replayFixture{h: h, ids: map[string]int{}, byPos: map[string]int{}}
	for _, ev := range sample.Generate(opts) {
		// The sample repeats some events as producers do; a dead letter
		// is counted by its key and value, so each is seeded once.
		id := replayIdentity(ev.Key, ev.Value)
		if _, dup := f.ids[id]; !dup {
			f.ids[id] = len(events)
			events = append(events, ev)
		}
	}
	f.n = len(events)
	h.events = append(h.events, events...) // their login tokens are scanned for too
	failedAt := time.Now().Add(-time.Hour)
	msgs := make([]kafka.Message, len(events))
	for i, ev := range events {
		class := dlq.ClassRejected
		if ev.Expect == sample.ExpectInvalid {
			class = dlq.ClassInvalidEvent
		}
		r := dlq.Record{Topic: h.st.Topic, Partition: i % partitions, Offset: int64(i / partitions),
			Timestamp: failedAt, Key: ev.Key, Value: ev.Value,
			Failure:  dlq.Failure{Class: class, Message: "dead-lettered for the replay scenario", Attempts: 1},
			FailedAt: failedAt}
		for _, hd := range ev.Headers {
			r.Headers = append(r.Headers, kafka.Header{Key: hd.Key, Value: hd.Value})
		}
		msgs[i] = r.Message()
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(h.st.Broker), Topic: h.st.DLQTopic, Transport: tr, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchSize: 500, BatchTimeout: 5 * time.Millisecond, BatchBytes: 16 << 20}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("seed the dead-letter topic: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	dead, err := h.st.ReadTopic(ctx, h.st.DLQTopic)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range dead {
		i, ok := f.ids[replayIdentity(m.Key, m.Value)]
		if !ok {
			t.Fatalf("dead-letter record %d/%d is none of the seeded ones", m.Partition, m.Offset)
		}
		f.byPos[fmt.Sprintf("%d/%d", m.Partition, m.Offset)] = i
	}
	if len(f.byPos) != f.n {
		t.Fatalf("the dead-letter topic holds %d of the %d seeded records", len(f.byPos), f.n)
	}
	if on := f.onDestination(); sumCounts(on) != 0 {
		t.Fatalf("%d seeded records are on the source topic before any replay", sumCounts(on))
	}
	return f
}

func sumCounts(c []int) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// onDestination counts how many times each seeded record is on the source
// topic (the destination of every replay).
func (f *replayFixture) onDestination() []int {
	f.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs, err := f.h.st.ReadTopic(ctx, f.h.st.Topic)
	if err != nil {
		f.h.t.Fatal(err)
	}
	counts := make([]int, f.n)
	for _, m := range msgs {
		if i, ok := f.ids[replayIdentity(m.Key, m.Value)]; ok {
			counts[i]++
		}
	}
	return counts
}

// destinationEnd is the sum of the source topic's high watermarks.
func (f *replayFixture) destinationEnd() int64 {
	f.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reqs := make([]kafka.OffsetRequest, partitions)
	for p := range reqs {
		reqs[p] = kafka.LastOffsetOf(p)
	}
	res, err := f.h.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{f.h.st.Topic: reqs}})
	if err != nil {
		f.h.t.Fatalf("list offsets of %s: %v", f.h.st.Topic, err)
	}
	var n int64
	for _, p := range res.Topics[f.h.st.Topic] {
		if p.Error != nil {
			f.h.t.Fatalf("list offsets of %s/%d: %v", f.h.st.Topic, p.Partition, p.Error)
		}
		n += p.LastOffset
	}
	return n
}

// replayRun is one `worker replay` process.
type replayRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
}

// start runs `worker replay args…` with the suite's settings.
func (f *replayFixture) start(args ...string) *replayRun {
	f.h.t.Helper()
	r := &replayRun{cmd: exec.Command(workerBin, append([]string{"replay"}, args...)...), done: make(chan struct{})}
	r.cmd.Env = f.h.st.WorkerEnv(baseEnv()...)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		f.h.t.Fatal(err)
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.done)
	}()
	f.h.t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// wait waits for r to exit and returns its exit status (-1: ended by a
// signal), keeping its output for the secret scan.
func (f *replayFixture) wait(r *replayRun) int {
	f.h.t.Helper()
	select {
	case <-r.done:
	case <-time.After(replayExitBound):
		f.h.t.Fatalf("worker replay %s still running after %s\nstderr:\n%s", strings.Join(r.cmd.Args[2:], " "), replayExitBound, r.stderr.String())
	}
	f.mu.Lock()
	f.outputs = append(f.outputs, r.stdout.Bytes(), r.stderr.Bytes())
	f.mu.Unlock()
	return r.cmd.ProcessState.ExitCode()
}

// run runs `worker replay args…` to its end.
func (f *replayFixture) run(args ...string) (int, *replayRun) {
	f.h.t.Helper()
	r := f.start(args...)
	return f.wait(r), r
}

var (
	replayListed     = regexp.MustCompile(`(?m)^(republished|outcome-unknown) source=\S+ dlq=\S+/(\d+)/(\d+) `)
	replayAlready    = regexp.MustCompile(`already replayed (\d+),`)
	replayUnknownSum = regexp.MustCompile(`outcome unknown (\d+)`)
)

// listed returns the seeded records r's output lists as republished and
// as of unknown outcome.
func (f *replayFixture) listed(r *replayRun) (republished, unknown map[int]bool) {
	f.h.t.Helper()
	republished, unknown = map[int]bool{}, map[int]bool{}
	for _, m := range replayListed.FindAllStringSubmatch(r.stdout.String(), -1) {
		i, ok := f.byPos[m[2]+"/"+m[3]]
		if !ok {
			f.h.t.Fatalf("replay listed dead-letter record %s/%s, which was not seeded", m[2], m[3])
		}
		if m[1] == "republished" {
			republished[i] = true
		} else {
			unknown[i] = true
		}
	}
	return republished, unknown
}

// summary returns r's summary line ("worker replay: republished N, …"),
// "" when it printed none; progress lines have the same counts, so only
// the summary is read.
func summary(r *replayRun) string {
	var last string
	for _, line := range strings.Split(r.stderr.String(), "\n") {
		if strings.HasPrefix(line, "worker replay: ") && strings.Contains(line, "dead-letter records)") {
			last = line
		}
	}
	return last
}

// summaryCount reads a count from r's summary line; -1 when absent.
func summaryCount(re *regexp.Regexp, r *replayRun) int {
	m := re.FindStringSubmatch(summary(r))
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// replayGate holds, at the broker, the hold-th republish request to the
// destination topic (counted from arm) until open: a batch Kafka has but
// has not yet acknowledged.
type replayGate struct {
	mu      sync.Mutex
	seen    int64
	hold    int64
	reached chan struct{} // closed when the request is held
	release chan struct{} // closed by open
}

func produceToTopic(req kmsg.Request, topic string) bool {
	pr, ok := req.(*kmsg.ProduceRequest)
	if !ok {
		return false
	}
	for _, t := range pr.Topics {
		if t.Topic == topic {
			return true
		}
	}
	return false
}

// gate installs an unarmed replayGate on the stack's broker.
func (f *replayFixture) gate() *replayGate {
	g := &replayGate{}
	c := f.h.st.Cluster
	topic := f.h.st.Topic
	c.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if !produceToTopic(req, topic) {
			return nil, nil, false
		}
		g.mu.Lock()
		g.seen++
		held := g.seen == g.hold
		reached, release := g.reached, g.release
		g.mu.Unlock()
		if held {
			close(reached)
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	f.h.t.Cleanup(g.open)
	return g
}

// arm holds the hold-th republish request from now on; it returns the
// channel closed once that request is held.
func (g *replayGate) arm(hold int64) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reached, g.release = make(chan struct{}), make(chan struct{})
	g.hold = g.seen + hold
	return g.reached
}

// open releases the held request, if any.
func (g *replayGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release != nil {
		close(g.release)
		g.release = nil
	}
}

// waitHeld waits until the gate holds a request of r, failing if r exits first.
func (f *replayFixture) waitHeld(held <-chan struct{}, r *replayRun) {
	f.h.t.Helper()
	select {
	case <-held:
	case <-r.done:
		f.h.t.Fatalf("worker replay ended before its held republish request (exit %d)\nstderr:\n%s", r.cmd.ProcessState.ExitCode(), r.stderr.String())
	case <-time.After(replayExitBound):
		f.h.t.Fatalf("worker replay never sent the republish request to hold within %s\nstderr:\n%s", replayExitBound, r.stderr.String())
	}
}

// waitMoved waits until the destination's end has moved past from: the
// replay has republished some.
func (f *replayFixture) waitMoved(from int64) int64 {
	f.h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if end := f.destinationEnd(); end > from {
			return end
		}
		if time.Now().After(deadline) {
			f.h.t.Fatalf("the destination's end stayed at %d for a minute with a replay running", from)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSignalTaken waits until pid has no SIGTERM pending (its Go runtime
// took it), then a little more for the signal's context to be cancelled.
// A signal still unhandled when this returns only makes the trial weaker.
func waitSignalTaken(t *testing.T, pid int) {
	t.Helper()
	const sigterm = 1 << (syscall.SIGTERM - 1)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return // exited
		}
		pending := false
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && (k == "SigPnd" || k == "ShdPnd") {
				mask, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				pending = pending || mask&sigterm != 0
			}
		}
		if !pending {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
}

// replayInterrupted seeds the dead letters of orders orders, then sigterms
// times starts `worker replay`, holds one of its republish requests at the
// broker once it has republished some, SIGTERMs it while the request is
// held, and releases it. Each interrupted run must exit 0 or 1 with its
// summary and list as republished (or outcome unknown) every record it put
// on the destination, and only those. A last run to completion, then:
// every dead letter on the destination exactly once (a record listed as
// outcome unknown may be there twice, nothing else), and the last run finds
// in the ledger exactly the records the interrupted ones listed.
func replayInterrupted(t *testing.T, orders, sigterms int) {
	f := replaySeed(t, mixed(41, orders))
	g := f.gate()
	listedBefore, unknownBefore := 0, map[int]bool{}
	for trial := 1; trial <= sigterms; trial++ {
		before := f.onDestination()
		end := f.destinationEnd()
		hold := int64(2 + f.h.rng.IntN(10))
		held := g.arm(hold)
		r := f.start()
		f.waitHeld(held, r)
		f.waitMoved(end)
		atSignal := f.destinationEnd()
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitSignalTaken(t, r.cmd.Process.Pid)
		g.open()
		code := f.wait(r)
		afterSignal := f.destinationEnd() - atSignal
		after := f.onDestination()
		rep, unk := f.listed(r)
		var unlisted, falseClaims, added int
		for i := range after {
			if after[i] > before[i] {
				added += after[i] - before[i]
				if !rep[i] && !unk[i] {
					unlisted++
				}
			}
		}
		for i := range rep {
			if after[i] <= before[i] {
				falseClaims++
			}
		}
		sum := summaryCount(republished, r)
		t.Logf("trial %d: SIGTERM with republish request %d held: exit %d, %d records put on the destination (%d after the signal), %d listed republished, %d outcome unknown, summary %q",
			trial, hold, code, added, afterSignal, len(rep), len(unk), summary(r))
		if afterSignal > replayBatch {
			t.Errorf("trial %d: %d records republished after the SIGTERM, want at most the batch being written (%d): an interrupted replay stops reading (docs/runbook.md)", trial, afterSignal, replayBatch)
		}
		if code != 0 && code != 1 {
			t.Errorf("trial %d: worker replay exit status %d on SIGTERM, want 0 or 1 (docs/runbook.md)\nstderr:\n%s", trial, code, r.stderr.String())
		}
		if sum != len(rep) {
			t.Errorf("trial %d: summary says republished %d, the output lists %d", trial, sum, len(rep))
		}
		if n := max(summaryCount(replayUnknownSum, r), 0); n != len(unk) {
			t.Errorf("trial %d: summary says outcome unknown %d, the output lists %d", trial, n, len(unk))
		}
		if unlisted > 0 {
			t.Errorf("trial %d: %d records put on the destination that the output does not list as republished or outcome unknown", trial, unlisted)
		}
		if falseClaims > 0 {
			t.Errorf("trial %d: %d records listed as republished are not on the destination", trial, falseClaims)
		}
		listedBefore += len(rep)
		for i := range unk {
			unknownBefore[i] = true
		}
	}

	code, r := f.run()
	final := f.onDestination()
	var missing, dups, unknownDups int
	for i, n := range final {
		switch {
		case n == 0:
			missing++
		case n > 1 && unknownBefore[i] && n == 2:
			unknownDups++
		case n > 1:
			dups += n - 1
		}
	}
	already := summaryCount(replayAlready, r)
	t.Logf("figures %s: %d dead letters, %d SIGTERMs; last run exit %d: %s; on the destination: %d missing, %d duplicates (+%d of records listed outcome unknown)",
		t.Name(), f.n, sigterms, code, summary(r), missing, dups, unknownDups)
	if code != 0 {
		t.Errorf("last replay: exit status %d, want 0\nstderr:\n%s", code, r.stderr.String())
	}
	if missing > 0 || dups > 0 {
		t.Errorf("after %d interrupted replays and one to the end: %d dead letters missing from the destination, %d duplicates; want each exactly once", sigterms, missing, dups)
	}
	if already != listedBefore {
		t.Errorf("last replay found %d records already replayed in the ledger, the interrupted runs listed %d as republished", already, listedBefore)
	}
	f.h.scan(f.outputs...)
}

// replayUnanswered seeds the dead letters of orders orders, runs `worker
// replay --timeout 2s`, holds one of its republish requests at the broker
// and SIGTERMs it, answering the request only after the process exited:
// it cannot know whether that batch landed, so its output must list it as
// outcome unknown (never as left alone or republished), and every record
// it put on the destination must be listed. After a run to completion
// every dead letter is on the destination, once, or twice for a record
// listed as outcome unknown.
func replayUnanswered(t *testing.T, orders int) {
	f := replaySeed(t, mixed(44, orders))
	g := f.gate()
	end := f.destinationEnd()
	held := g.arm(int64(2 + f.h.rng.IntN(10)))
	r := f.start("--timeout", "2s")
	f.waitHeld(held, r)
	f.waitMoved(end)
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := f.wait(r)
	g.open()
	rep, unk := f.listed(r)
	unknownSum := summaryCount(replayUnknownSum, r)

	code2, last := f.run()
	final := f.onDestination()
	lastRep, _ := f.listed(last)
	var missing, dups, unlisted, unknownTwice int
	for i, n := range final {
		switch {
		case n == 0:
			missing++
		case n == 2 && unk[i]:
			unknownTwice++
		case n > 1:
			dups += n - 1
		}
		if n > 0 && !rep[i] && !unk[i] && !lastRep[i] {
			unlisted++
		}
	}
	t.Logf("figures %s: %d dead letters; interrupted run, one republish unanswered: exit %d, %d listed republished, %d outcome unknown: %s; last run exit %d: %s; on the destination: %d missing, %d duplicates, %d records listed outcome unknown there twice",
		t.Name(), f.n, code, len(rep), len(unk), summary(r), code2, summary(last), missing, dups, unknownTwice)
	if code != 1 || len(unk) == 0 || unknownSum != len(unk) {
		t.Errorf("interrupted run with a republish unanswered: exit %d, %d listed outcome unknown, summary %q; want exit 1 and the batch listed and counted as outcome unknown", code, len(unk), summary(r))
	}
	if code2 != 0 {
		t.Errorf("last replay: exit status %d, want 0\nstderr:\n%s", code2, last.stderr.String())
	}
	if missing > 0 || dups > 0 || unlisted > 0 {
		t.Errorf("%d dead letters missing from the destination, %d duplicates not listed as outcome unknown, %d on it that no run listed", missing, dups, unlisted)
	}
	f.h.scan(f.outputs...)
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// replayConcurrent seeds the dead letters of orders orders, starts `worker
// replay`, holds one of its republish requests at the broker once it has
// republished some, and starts a second `worker replay` on the same
// dead-letter topic: the second must exit 1 saying another replay is
// running, having republished nothing; the first, released, finishes; every
// dead letter is on the destination exactly once, and a rerun finds them
// all in the ledger (the lease was released).
func replayConcurrent(t *testing.T, orders int) {
	f := replaySeed(t, mixed(42, orders))
	g := f.gate()
	end := f.destinationEnd()
	held := g.arm(2)
	first := f.start()
	f.waitHeld(held, first)
	f.waitMoved(end)
	secondCode, second := f.run()
	g.open()
	firstCode := f.wait(first)
	rep2, _ := f.listed(second)
	counts := f.onDestination()
	var missing, dups int
	for _, n := range counts {
		if n == 0 {
			missing++
		}
		if n > 1 {
			dups += n - 1
		}
	}
	againCode, again := f.run()
	t.Logf("figures %s: %d dead letters; first replay exit %d: %s; second, started while the first held a batch: exit %d, %d listed republished: %s; on the destination: %d missing, %d duplicates; rerun: %s",
		t.Name(), f.n, firstCode, summary(first), secondCode, len(rep2), lastLine(second.stderr.String()), missing, dups, summary(again))
	if secondCode != 1 || !strings.Contains(second.stderr.String(), "another replay is running on this replay ledger") ||
		!strings.Contains(second.stderr.String(), "(client ordersync at ") {
		t.Errorf("second replay: exit %d, stderr %q; want exit 1 saying another replay is running, naming the holder's client (docs/runbook.md)", secondCode, second.stderr.String())
	}
	if len(rep2) > 0 {
		t.Errorf("second replay listed %d records republished, want none", len(rep2))
	}
	if firstCode != 0 || summaryCount(republished, first) != f.n {
		t.Errorf("first replay: exit %d, %q; want 0 and all %d republished", firstCode, summary(first), f.n)
	}
	if missing > 0 || dups > 0 {
		t.Errorf("two replays at once: %d dead letters missing from the destination, %d duplicates; want each exactly once", missing, dups)
	}
	if againCode != 0 || summaryCount(republished, again) != 0 || summaryCount(replayAlready, again) != f.n {
		t.Errorf("rerun: exit %d, %q; want 0, nothing republished, all %d already replayed", againCode, summary(again), f.n)
	}
	f.h.scan(f.outputs...)
}

// replayChecks: a dry run to a --to topic that does not exist must exit 2
// naming --to and the topic, listing nothing as "would republish"; with a
// replay ledger topic created with cleanup.policy=delete, a replay and a
// dry run must both exit 2 naming --replayed-topic, the topic and its
// policy, and republish nothing.
func replayChecks(t *testing.T) {
	f := replaySeed(t, mixed(43, 20))
	h := f.h
	const missingTo = "orders.typo"
	code, r := f.run("--dry-run", "--to", missingTo)
	out := r.stdout.String() + r.stderr.String()
	t.Logf("dry run --to %s: exit %d: %s", missingTo, code, lastLine(r.stderr.String()))
	if code != 2 || !strings.Contains(r.stderr.String(), "--to: "+missingTo+": destination topic does not exist") {
		t.Errorf("dry run --to %s: exit %d, stderr %q; want exit 2 and `--to: %s: destination topic does not exist`", missingTo, code, r.stderr.String(), missingTo)
	}
	if strings.Contains(out, "would republish") || strings.Contains(out, "would-republish") {
		t.Errorf("dry run --to a missing topic says it would republish (%d would-republish lines)", strings.Count(out, "would-republish "))
	}

	ledger := h.st.DLQTopic + ".replayed"
	if err := h.st.Cluster.CreateTopic(ledger, 1, map[string]string{"cleanup.policy": "delete"}); err != nil {
		t.Fatalf("create the replay ledger topic: %v", err)
	}
	for _, args := range [][]string{nil, {"--dry-run"}} {
		code, r := f.run(args...)
		stderr := r.stderr.String()
		t.Logf("replay %v with %s cleanup.policy=delete: exit %d: %s", args, ledger, code, lastLine(stderr))
		if code != 2 || !strings.Contains(stderr, "--replayed-topic") || !strings.Contains(stderr, ledger) || !strings.Contains(stderr, "cleanup.policy=delete") {
			t.Errorf("replay %v with a replay ledger that expires: exit %d, stderr %q; want exit 2 naming --replayed-topic, %s and cleanup.policy=delete", args, code, stderr, ledger)
		}
		if n := strings.Count(r.stdout.String(), "\n"); n > 0 {
			t.Errorf("replay %v with a replay ledger that expires listed %d records", args, n)
		}
	}
	if on := sumCounts(f.onDestination()); on != 0 {
		t.Errorf("%d dead letters republished by refused replays", on)
	}
	f.h.scan(f.outputs...)
}
