package chaos

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// rejectedSubMchID is the sub-merchant the sandbox rejects (403 NO_AUTH).
const rejectedSubMchID = "1900000999"

var rejectSubMerchant = []sandbox.Rejection{{
	SubMchID: rejectedSubMchID, Status: 403, Code: "NO_AUTH", Message: "sub-merchant not granted the catering product",
}}

// mixed is a realistic sample: some broken events, some orders of the
// rejected sub-merchant, the orders' events interleaved.
func mixed(seed uint64, orders int) sample.Options {
	return sample.Options{Seed: seed, Orders: orders, InvalidPercent: 6, RejectedPercent: 4,
		RejectedSubMchID: rejectedSubMchID, Interleave: true}
}

// Duplicates after a crash come from events whose outcome was not yet
// committed when the process died: the uploads in flight (at most
// maxInFlight) and the events finished since the last commit (commits run
// every 200 ms, and per partition at most the consumer's window of
// 4 × maxInFlight, ≥ 64, fetched events wait behind an unfinished one).
const (
	window       = max(4*maxInFlight, 64)
	dupsPerCrash = maxInFlight + partitions*window
)

// dupBound is the most duplicates (of uploads, or of dead letters) a run
// may show after n crashes or broker restarts.
func dupBound(n int) int { return n * dupsPerCrash }

func boundDuplicates(t *testing.T, f figures, restarts int) {
	t.Helper()
	if b := dupBound(restarts); f.DupUploads > b || f.DupDLQ > b {
		t.Errorf("duplicates beyond the bound: %d uploads, %d dead letters; at most %d after %d restarts",
			f.DupUploads, f.DupDLQ, b, restarts)
	}
	t.Logf("duplicates: %d uploads, %d dead letters after %d crashes/restarts (in-flight limit × crashes = %d, bound asserted %d)",
		f.DupUploads, f.DupDLQ, restarts, maxInFlight*restarts, dupBound(restarts))
}

// killWorker SIGKILLs the worker at kills random moments while events flow
// (between 5 % and 90 % of the records committed), restarting it each time.
func killWorker(t *testing.T, orders, kills int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(1, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	t.Logf("%d events, %d SIGKILLs", len(h.events), kills)
	points := make([]float64, kills)
	for i := range points {
		points[i] = h.between(0.05, 0.9)
	}
	slices.Sort(points)
	p := h.start()
	for _, at := range points {
		h.waitFraction(at, timeout)
		time.Sleep(time.Duration(h.rng.IntN(300)) * time.Millisecond) // a random moment, not a synchronisation
		h.kill(p)
		p = h.start()
		h.recovered(time.Minute)
	}
	f, _ := h.result(timeout)
	boundDuplicates(t, f, kills)
}

// restartBroker stops the broker and starts it again on its own data
// (same port, same log and offsets) once per down time, while the worker
// keeps running.
func restartBroker(t *testing.T, orders int, rate int, downs []time.Duration, timeout time.Duration) {
	h := newHarness(t, options{persist: true, sample: mixed(2, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant},
		env: []string{"ORDERSYNC_RATE_LIMIT=" + strconv.Itoa(rate)}})
	h.start()
	for i, down := range downs {
		h.waitFraction(float64(i+1)/float64(len(downs)+2), timeout)
		h.st.StopBroker()
		time.Sleep(down) // the outage lasts this long
		if err := h.st.StartBroker(); err != nil {
			t.Fatal(err)
		}
		d := h.recovered(2 * time.Minute)
		t.Logf("broker down %s: commits moved again %s after it came back", down, d.Round(10*time.Millisecond))
	}
	f, _ := h.result(timeout)
	boundDuplicates(t, f, len(downs))
}

// rebalance runs three workers of one group, started and stopped in turn,
// so partitions move between live members several times.
func rebalance(t *testing.T, orders, rate int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(3, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant},
		env: []string{"ORDERSYNC_RATE_LIMIT=" + strconv.Itoa(rate)}})
	a := h.start()
	h.waitFraction(0.1, timeout)
	b := h.start()
	h.handedOver(2)
	h.waitFraction(0.2, timeout)
	c := h.start()
	h.handedOver(3)
	h.waitFraction(0.35, timeout)
	h.terminate(a)
	h.handedOver(2)
	h.waitFraction(0.5, timeout)
	d := h.start()
	h.handedOver(3)
	h.waitFraction(0.6, timeout)
	h.terminate(b)
	h.handedOver(2)
	h.waitFraction(0.75, timeout)
	h.terminate(c)
	h.handedOver(1)
	_ = d // runs to the end; result stops it
	f, _ := h.result(timeout)
	// Six membership changes. A revoked partition finishes what it fetched
	// within a bounded drain (1 s with these timeouts); what is still
	// unfinished then — and every event finished behind it, which a Kafka
	// offset cannot commit — is redelivered to the next owner, so a handoff
	// that outlasts its drain costs at most what a crash costs.
	const handoffs = 6
	boundDuplicates(t, f, handoffs)
}

// dlqRefuses makes the broker refuse every produce to the dead-letter topic
// for hold, SIGKILLing the worker halfway through.
func dlqRefuses(t *testing.T, orders int, hold time.Duration, timeout time.Duration) {
	opts := mixed(4, orders)
	opts.InvalidPercent = 25
	h := newHarness(t, options{sample: opts, faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	p := h.start()
	h.waitFraction(0.2, timeout)
	fault := h.st.Cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: h.st.DLQTopic,
		Err: kerr.NotEnoughReplicas, Count: -1})
	time.Sleep(hold / 2)
	failures := h.metric(p, "ordersync_dead_letter_write_failures_total")
	h.kill(p)
	p = h.start()
	time.Sleep(hold / 2)
	failures += h.metric(p, "ordersync_dead_letter_write_failures_total")
	fault.Remove()
	d := h.recovered(time.Minute)
	t.Logf("dead-letter topic refused writes for %s (%.0f failed writes seen); commits moved again %s after",
		hold, failures, d.Round(10*time.Millisecond))
	if failures == 0 {
		t.Error("no dead-letter write failed: the fault did not bite")
	}
	f, _ := h.result(timeout)
	boundDuplicates(t, f, 1)
}

// waitUploads waits until the sandbox has accepted frac of the uploads the
// run must make: a trigger for API faults, which act on uploads.
func (h *harness) waitUploads(frac float64, timeout time.Duration) {
	h.t.Helper()
	want := int64(frac * float64(len(h.want.byEvent)))
	deadline := time.Now().Add(timeout)
	for h.st.Sandbox.Count() < want {
		if time.Now().After(deadline) {
			h.t.Fatalf("only %d of %d uploads after %s\n%s", h.st.Sandbox.Count(), want, timeout, h.tails())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric scrapes one family's total from p (0 if p does not answer).
func (h *harness) metric(p *proc, name string) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	m, err := p.Metrics(ctx)
	if err != nil {
		return 0
	}
	return m[name]
}

// apiFaults runs one worker through an API outage, a 429 storm, 30 % 5xx,
// responses signed with the wrong key and upload timeouts, in turn. Every
// event is valid: the dead-letter topic must stay empty.
func apiFaults(t *testing.T, orders, rate int, outage, phase, timeout time.Duration) {
	opts := mixed(5, orders)
	opts.InvalidPercent, opts.RejectedPercent = 0, 0
	h := newHarness(t, options{sample: opts, env: []string{"ORDERSYNC_RATE_LIMIT=" + strconv.Itoa(rate)}})
	p := h.start()
	var badSigned int64
	steps := []struct {
		name   string
		faults sandbox.Faults
		hold   time.Duration
	}{
		{"outage (503)", sandbox.Faults{Outage: &sandbox.Outage{Mode: sandbox.OutageUnavailable}}, outage},
		{"429 storm", sandbox.Faults{RateLimitRate: 1, RetryAfter: sandbox.Duration(time.Second)}, phase},
		{"30% 5xx", sandbox.Faults{ServerErrorRate: 0.3}, phase},
		{"bad response signatures", sandbox.Faults{BadSignature: sandbox.BadSignatureWrongKey}, phase},
		{"upload timeouts (30%)", sandbox.Faults{TimeoutRate: 0.3}, phase},
	}
	for i, s := range steps {
		h.waitUploads(float64(i+1)/float64(len(steps)+2), timeout)
		before := h.st.Sandbox.Stats().ByStatus[204]
		if err := h.st.Sandbox.SetFaults(s.faults); err != nil {
			t.Fatal(err)
		}
		time.Sleep(s.hold) // the fault lasts this long
		h.st.Sandbox.ClearFaults()
		if s.faults.BadSignature != "" {
			badSigned = h.st.Sandbox.Stats().ByStatus[204] - before
		}
		d := h.recovered(time.Minute)
		t.Logf("%s for %s: commits moved again %s after", s.name, s.hold, d.Round(10*time.Millisecond))
	}
	h.waitCommitted(h.produced, timeout)
	delivered := h.metric(p, "ordersync_events_delivered_total")
	unknown := h.unknownAttempts(p)
	f, _ := h.result(timeout)
	if f.DLQRecords != 0 {
		t.Errorf("%d events dead-lettered; API faults must only delay delivery", f.DLQRecords)
	}
	if int(delivered) != f.ToDeliver {
		t.Errorf("the worker counted %.0f events delivered, want exactly %d (a wrongly signed 204 is not a delivery)", delivered, f.ToDeliver)
	}
	if badSigned == 0 {
		t.Error("no answer was signed with the wrong key: the fault did not bite")
	}
	// A duplicate comes from an answer the worker could not trust (signed
	// with the wrong key) or from a request the sandbox accepted after the
	// worker's request timeout gave up on it: how many there are depends on
	// the machine's speed, so the bound is the worker's own count of them.
	boundNoCrash(t, f, unknown)
	t.Logf("%d answers signed with the wrong key were not counted as deliveries; %d duplicate uploads, %d attempts with an unknown outcome", badSigned, f.DupUploads, unknown)
}

// sigterm stops a worker with SIGTERM while uploads are in flight: it must
// exit 0 within the bound, and a new worker must finish the rest.
func sigterm(t *testing.T, orders int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(6, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant,
		Latency: sandbox.Duration(20 * time.Millisecond), LatencyJitter: sandbox.Duration(40 * time.Millisecond)}})
	p := h.start()
	h.waitFraction(0.3, timeout)
	inFlight := h.metric(p, "ordersync_uploads_in_flight")
	took := h.terminate(p)
	t.Logf("SIGTERM with %.0f uploads in flight: exit 0 after %s (bound %s)", inFlight, took.Round(time.Millisecond), exitBound)
	h.start()
	h.recovered(time.Minute)
	f, _ := h.result(timeout)
	if f.DupUploads > maxInFlight || f.DupDLQ > 0 {
		t.Errorf("after a clean stop: %d duplicate uploads (at most the %d in flight may be abandoned), %d duplicate dead letters (want 0)",
			f.DupUploads, maxInFlight, f.DupDLQ)
	}
}

// produceMore appends the events of opts to the scenario and produces them.
func (h *harness) produceMore(opts sample.Options) {
	h.t.Helper()
	more := sample.Generate(opts)
	if h.opts.edit != nil {
		h.opts.edit(more)
	}
	h.events = append(h.events, more...)
	var err error
	if h.want, err = expect(h.mapper, h.events, h.opts.replayed); err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.st.Produce(ctx, more); err != nil {
		h.t.Fatal(err)
	}
	h.produced += int64(len(more))
}

// get fetches a worker endpoint, failing the test on a transport error.
func (h *harness) get(p *proc, path string) (int, string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	code, body, err := p.Get(ctx, path)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return code, strings.TrimSpace(body)
}

// waitEndpoint polls path until it answers code with a body starting with prefix.
func (h *harness) waitEndpoint(p *proc, path string, code int, prefix string, timeout time.Duration) string {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	var got int
	var body string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, b, err := p.Get(ctx, path)
		cancel()
		if err == nil {
			got, body = c, strings.TrimSpace(b)
			if got == code && strings.HasPrefix(body, prefix) {
				return body
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("%s answered %d %q, want %d %q… within %s", path, got, body, code, prefix, timeout)
	return ""
}

// scrapeAll returns p's metrics, failing the test if it cannot.
func (h *harness) scrapeAll(p *proc) map[string]float64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	m, err := p.Metrics(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// metricsAndHealth checks that the metric families follow the events, that
// /healthz and /readyz answer 200 while the worker runs, and that /readyz
// answers 503 "paused: …" during an API outage. Every assertion is on a
// state the test holds (everything committed, or uploads held by the
// outage it injects), never on what a scrape happens to catch while events
// flow: fetching is not throttled, so a first scrape may already see the
// whole backlog consumed.
func metricsAndHealth(t *testing.T, orders int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(7, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant,
		Latency: sandbox.Duration(30 * time.Millisecond)}, env: []string{"ORDERSYNC_RATE_LIMIT=150"}})
	p := h.start()
	h.waitEndpoint(p, "/readyz", 200, "ok", 30*time.Second)
	if code, body := h.get(p, "/healthz"); code != 200 {
		t.Errorf("/healthz while running: %d %q", code, body)
	}
	for {
		if code, body := h.get(p, "/readyz"); code != 200 {
			t.Errorf("/readyz while running: %d %q", code, body)
		}
		if h.scrapeAll(p)["ordersync_committed_offset"] >= float64(h.produced) {
			break
		}
		if time.Since(h.started) > timeout {
			t.Fatalf("not everything committed after %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	first := h.scrapeAll(p)
	h.checkCounts(first)
	h.checkDrained(first)
	if !slices.ContainsFunc(keys(first), func(k string) bool {
		return strings.HasPrefix(k, "ordersync_upload_attempts_total{") && strings.Contains(k, "status=403")
	}) {
		t.Error("no upload attempt labelled with the 403 the sandbox answered")
	}
	t.Logf("first wave: consumed %.0f, delivered %.0f, dead-lettered %.0f, attempts %.0f",
		first["ordersync_events_consumed_total"], first["ordersync_events_delivered_total"],
		first["ordersync_events_dead_lettered_total"], first["ordersync_upload_attempts_total"])

	// An API outage pauses uploads: /readyz says so, /healthz stays 200, and
	// the events produced meanwhile are held unfinished. They wait for the
	// pause without an in-flight slot (uploads_in_flight is above 0 only while
	// a probe is under way) and a partition takes at most its window of them,
	// so neither "in flight > 0" nor "all consumed" is a state the test holds.
	if err := h.st.Sandbox.SetFaults(sandbox.Faults{Outage: &sandbox.Outage{Mode: sandbox.OutageUnavailable}}); err != nil {
		t.Fatal(err)
	}
	more := mixed(8, orders/4)
	more.Start = time.Now().AddDate(0, 0, 1) // other order numbers
	h.produceMore(more)
	body := h.waitEndpoint(p, "/readyz", 503, "paused: ", 30*time.Second)
	t.Logf("/readyz during the outage: 503 %q", body)
	if code, body := h.get(p, "/healthz"); code != 200 {
		t.Errorf("/healthz while paused: %d %q (a paused worker is alive)", code, body)
	}
	held := h.waitMetrics(p, 30*time.Second, "uploads held by the outage", func(m map[string]float64) bool {
		return m["ordersync_events_consumed_total"] > first["ordersync_events_consumed_total"] &&
			m["ordersync_oldest_in_flight_age_seconds"] > 0 && m["ordersync_consumer_lag_messages"] > 0 &&
			m["ordersync_upload_paused"] == 1
	})
	t.Logf("during the outage: oldest unfinished event %.1fs old, %.0f in flight, lag %.0f",
		held["ordersync_oldest_in_flight_age_seconds"], held["ordersync_uploads_in_flight"], held["ordersync_consumer_lag_messages"])
	if err := h.st.Sandbox.SetFaults(sandbox.Faults{Rejections: rejectSubMerchant}); err != nil { // the outage ends
		t.Fatal(err)
	}
	h.waitEndpoint(p, "/readyz", 200, "ok", 30*time.Second)
	h.waitCommitted(h.produced, timeout)
	last := h.waitMetrics(p, 30*time.Second, "everything committed", func(m map[string]float64) bool {
		return m["ordersync_committed_offset"] >= float64(h.produced)
	})
	h.checkCounts(last)
	h.checkDrained(last)
	for _, name := range []string{"ordersync_events_delivered_total", "ordersync_upload_attempts_total"} {
		if last[name] <= first[name] {
			t.Errorf("%s did not follow the second wave: %v before it, %v after", name, first[name], last[name])
		}
	}
	unknown := h.unknownAttempts(p)
	f, _ := h.result(timeout)
	boundNoCrash(t, f, unknown)
}

// checkCounts checks, once everything produced is committed, that the
// event counters equal what the sample events must do: each consumed once,
// each deliverable one delivered once, each dead letter counted in its class.
func (h *harness) checkCounts(m map[string]float64) {
	h.t.Helper()
	byClass := map[string]int{}
	for _, class := range h.want.dead {
		byClass[class]++
	}
	want := map[string]float64{
		"ordersync_events_consumed_total":                                           float64(h.produced),
		"ordersync_events_delivered_total":                                          float64(len(h.want.byEvent)),
		"ordersync_events_dead_lettered_total{class=" + dlq.ClassInvalidEvent + "}": float64(byClass[dlq.ClassInvalidEvent]),
		"ordersync_events_dead_lettered_total{class=" + dlq.ClassRejected + "}":     float64(byClass[dlq.ClassRejected]),
		"ordersync_events_skipped_total":                                            float64(h.want.skipped),
	}
	for name, v := range want {
		if m[name] != v {
			h.t.Errorf("%s = %v once all %d events were committed, want %v", name, m[name], h.produced, v)
		}
	}
	// Rejections of a held sub-merchant are dead-lettered without a call,
	// so only the deliveries set a floor on the attempts.
	if min := float64(len(h.want.byEvent)); m["ordersync_upload_attempts_total"] < min {
		h.t.Errorf("ordersync_upload_attempts_total = %v, want ≥ %v (one per delivery)", m["ordersync_upload_attempts_total"], min)
	}
}

// checkDrained checks that the gauges of work in progress are back to 0.
func (h *harness) checkDrained(m map[string]float64) {
	h.t.Helper()
	for _, name := range []string{"ordersync_uploads_in_flight", "ordersync_consumer_lag_messages"} {
		if m[name] != 0 {
			h.t.Errorf("%s = %v once everything was committed, want 0", name, m[name])
		}
	}
}

// waitMetrics scrapes p until ok holds, failing the test after timeout.
func (h *harness) waitMetrics(p *proc, timeout time.Duration, what string, ok func(map[string]float64) bool) map[string]float64 {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := h.scrapeAll(p)
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("metrics never showed %s within %s: %v", what, timeout, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unknownAttempts counts p's upload attempts that ended without a verified
// answer — no answer at all (a timeout, a dropped connection) or a 2xx the
// worker could not verify: each may have reached the API, so each may
// duplicate. A 5xx, 429 or 503 answer is a verified refusal and cannot.
func (h *harness) unknownAttempts(p *proc) int {
	var n float64
	for k, v := range h.scrapeAll(p) {
		if strings.HasPrefix(k, "ordersync_upload_attempts_total{") && strings.Contains(k, "result=transient") &&
			(strings.Contains(k, "http_status=0,") || strings.Contains(k, "http_status=2")) {
			n += v
		}
	}
	return int(n)
}

// boundNoCrash: without a crash, an upload is repeated only after an
// attempt whose outcome was unknown (timeout, unverifiable answer), and
// nothing is dead-lettered twice.
func boundNoCrash(t *testing.T, f figures, unknown int) {
	t.Helper()
	if f.DupUploads > unknown || f.DupDLQ != 0 {
		t.Errorf("without a crash: %d duplicate uploads (at most the %d attempts with an unknown outcome), %d duplicate dead letters (want 0)",
			f.DupUploads, unknown, f.DupDLQ)
	}
}

func keys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

var republished = regexp.MustCompile(`republished (\d+),`)

// replay runs `worker replay`; it returns how many records it republished
// and everything it printed.
func (h *harness) replay(args ...string) (int, []byte) {
	h.t.Helper()
	cmd := exec.Command(workerBin, append([]string{"replay"}, args...)...)
	cmd.Env = h.st.WorkerEnv(baseEnv()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		h.t.Fatalf("worker replay %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	m := republished.FindSubmatch(out.Bytes())
	if m == nil {
		h.t.Fatalf("worker replay printed no summary:\n%s", out.String())
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n, out.Bytes()
}

// replayRejected is the dead-letter replay end to end: rejected events are dead-lettered,
// the cause is fixed in the sandbox, `worker replay --class rejected`
// republishes them, the running worker delivers them, and a second replay
// republishes nothing.
func replayRejected(t *testing.T, orders int, timeout time.Duration) {
	opts := mixed(9, orders)
	opts.RejectedPercent = 15
	h := newHarness(t, options{sample: opts, faults: sandbox.Faults{Rejections: rejectSubMerchant}, replayed: true})
	rejected := 0
	for _, e := range h.events {
		if e.Expect == sample.ExpectRejected {
			rejected++
		}
	}
	if rejected == 0 {
		t.Fatal("the sample has no rejected event")
	}
	p := h.start()
	h.waitCommitted(h.produced, timeout)
	h.st.Sandbox.ClearFaults() // the sub-merchant is granted the product
	// As the runbook says: the cause fixed, SIGHUP releases the held
	// sub-merchant, so its replayed events are sent, not dead-lettered again.
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	h.waitMetrics(p, 30*time.Second, "no sub-merchant held", func(m map[string]float64) bool {
		_, registered := m["ordersync_merchants_held"]
		return registered && m["ordersync_merchants_held"] == 0
	})
	n, out1 := h.replay("--class", "rejected")
	if n != rejected {
		t.Errorf("first replay republished %d records, want the %d rejected events", n, rejected)
	}
	h.produced += int64(n)
	n2, out2 := h.replay("--class", "rejected")
	if n2 != 0 {
		t.Errorf("second replay republished %d records, want 0", n2)
	}
	h.waitCommitted(h.produced, timeout)
	unknown := h.unknownAttempts(p)
	f, _ := h.result(timeout)
	h.scan(out1, out2)
	t.Logf("replay: %d rejected events republished and delivered (%d uploads recorded in all); a second replay republished %d", n, f.Uploads, n2)
	boundNoCrash(t, f, unknown)
}
