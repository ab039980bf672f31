package chaos

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// Memory scenarios of the reliability second pass (docs/reliability.md,
// "Second-pass findings: where each is tested"): the worker's peak resident
// memory (VmHWM in /proc/<pid>/status) must stay under a bound while large
// events are held unfinished, or while a proxy answers huge bodies.

// memEventBytes is the size of one large event: under the broker's default
// max.message.bytes (1 MiB) with room for the dead-letter headers.
const memEventBytes = 900 << 10

// memPeak returns process pid's peak resident set size (VmHWM), in bytes.
func memPeak(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the worker's memory: %v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM line %q: %v", s.Text(), err)
			}
			return kib << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status (%v)", pid, s.Err())
	return 0
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// memProduceLarge produces perPartition invalid events of memEventBytes to
// every source partition (keys picked for the producer's partitioner) and
// adds them to the scenario's expectation: each must be dead-lettered as an
// invalid event. Their values are produced in small batches and not kept.
func (h *harness) memProduceLarge(perPartition int) int {
	h.t.Helper()
	pad := strings.Repeat("x", memEventBytes)
	want := make([]int, partitions)
	ids := make([]int, partitions)
	for i := range ids {
		ids[i] = i
	}
	var balancer kafka.Murmur2Balancer
	var batch []sample.Event
	produced := 0
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.st.Produce(ctx, batch); err != nil {
			h.t.Fatalf("produce large events: %v", err)
		}
		for _, ev := range batch {
			ev.Value = nil // the expectation needs the id only
			h.events = append(h.events, ev)
		}
		batch = batch[:0]
	}
	for i := 0; produced < perPartition*partitions; i++ {
		key := fmt.Sprintf("MEMBIG%06d", i)
		part := balancer.Balance(kafka.Message{Key: []byte(key)}, ids...)
		if want[part] == perPartition {
			continue
		}
		want[part]++
		produced++
		id := "mem-large-" + key
		// An event type no producer may send: invalid whatever else it holds.
		value := fmt.Sprintf(`{"event_id":%q,"event_type":"order.payed","occurred_at":%q,"order":{"order_no":%q},"note":%q}`,
			id, time.Now().UTC().Format(time.RFC3339), key, pad)
		batch = append(batch, sample.Event{Key: []byte(key), Value: []byte(value), EventID: id, OrderNo: key, Expect: sample.ExpectInvalid})
		if len(batch) == 8 {
			flush()
		}
	}
	flush()
	var err error
	if h.want, err = expect(h.mapper, h.events, h.opts.replayed); err != nil {
		h.t.Fatal(err)
	}
	h.produced += int64(produced)
	return produced
}

// memHoldLarge delivers a small mixed batch, then makes the broker refuse
// every dead-letter write and produces perPartition large invalid events to
// every partition: they stay unfinished. Once the worker reads no more of
// them while its dead-letter writes keep failing, the fault is lifted and
// every event must be dead-lettered or delivered. The worker's peak RSS over
// its whole life must stay under bound; with a budget of 8 MiB of
// ORDERSYNC_MAX_PENDING_BYTES it reads at most that much of the held events.
func memHoldLarge(t *testing.T, perPartition int, bound int64, timeout time.Duration) {
	const budget = 8 << 20
	h := newHarness(t, options{sample: mixed(41, 60), faults: sandbox.Faults{Rejections: rejectSubMerchant},
		env: []string{"ORDERSYNC_MAX_PENDING_BYTES=8MiB"}})
	p := h.start()
	h.waitCommitted(h.produced, timeout)
	before := h.metric(p, "ordersync_events_consumed_total")

	refused := h.st.Cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: h.st.DLQTopic,
		Err: kerr.NotEnoughReplicas, Count: -1})
	faulted := time.Now()
	large := h.memProduceLarge(perPartition)

	// Hold until the worker has read no further event over 2 more failed
	// dead-letter writes per partition (retries of the held events), or its
	// peak passes the bound.
	var consumed, failures, sinceFailures float64
	var peak int64
	deadline := time.Now().Add(timeout)
	for {
		peak = memPeak(t, p.Pid())
		m, err := p.Metrics(context.Background())
		if err == nil {
			if c := m["ordersync_events_consumed_total"]; c != consumed {
				consumed, sinceFailures = c, m["ordersync_dead_letter_write_failures_total"]
			}
			failures = m["ordersync_dead_letter_write_failures_total"]
		}
		if peak > bound || (consumed > before && failures >= sinceFailures+2*partitions) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still reading large events after %s: %.0f consumed, %.0f dead-letter writes failed\n%s", timeout, consumed-before, failures, h.tails())
		}
		time.Sleep(100 * time.Millisecond)
	}
	held := int64(consumed-before) * memEventBytes
	refused.Remove()
	lifted := time.Now()
	h.waitCommitted(h.produced, timeout)
	drained := time.Since(lifted)
	peak = memPeak(t, p.Pid())
	f, _ := h.result(timeout)
	if peak > bound {
		t.Errorf("worker peak RSS %s with %d events of %s held unfinished on %d partitions, bound %s (ORDERSYNC_MAX_PENDING_BYTES %s)",
			mib(peak), large, mib(memEventBytes), partitions, mib(bound), mib(budget))
	}
	if failures == 0 {
		t.Error("no dead-letter write failed: the fault did not hold the events")
	}
	t.Logf("figures %s: %d large events (%s) held by a refusing dead-letter topic: %.0f read while held (%s), %.0f failed dead-letter writes over %s; worker peak RSS %s (bound %s, budget %s); %d of %d dead-lettered, all committed %s after the fault was lifted",
		t.Name(), large, mib(int64(large)*memEventBytes), consumed-before, mib(held), failures, lifted.Sub(faulted).Round(100*time.Millisecond), mib(peak), mib(bound), mib(budget), f.DeadLetters, f.ToDLQ, drained.Round(100*time.Millisecond))
}

// memHugeProxy is a proxy in front of the sandbox that answers the first
// huge requests 502 with a body of size bytes, written in chunks as the
// client reads it (never held), and forwards every later request.
type memHugeProxy struct {
	*httptest.Server
	started atomic.Int64 // huge answers begun
	sent    atomic.Int64 // bytes of huge answers written
}

func newMemHugeProxy(t *testing.T, sandboxURL string, huge, size int64) *memHugeProxy {
	t.Helper()
	u, err := url.Parse(sandboxURL)
	if err != nil {
		t.Fatal(err)
	}
	fwd := httputil.NewSingleHostReverseProxy(u)
	chunk := []byte(strings.Repeat("x", 64<<10))
	p := &memHugeProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.started.Add(1) > huge {
			fwd.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusBadGateway)
		for left := size; left > 0; left -= int64(len(chunk)) {
			n, err := w.Write(chunk[:min(left, int64(len(chunk)))])
			p.sent.Add(int64(n))
			if err != nil {
				return // the worker stopped reading
			}
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// memHugeResponses puts a proxy between the worker (3 uploads in flight)
// and the sandbox that answers the first huge uploads 502 with a body of
// size bytes. The worker's peak RSS must stay under bound, each huge answer
// must be a transient failure that is retried, and every event delivered.
func memHugeResponses(t *testing.T, orders int, huge, size, bound int64, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(42, orders), faults: sandbox.Faults{Rejections: rejectSubMerchant}})
	proxy := newMemHugeProxy(t, h.st.URL, huge, size)
	p := h.start("ORDERSYNC_WECHATPAY_BASE_URL="+proxy.URL, "ORDERSYNC_MAX_IN_FLIGHT=3")

	// Watch the peak until every huge answer was begun and the worker let
	// go of them (the sandbox saw a request after the last one), or the peak
	// passes the bound: then stop the worker before it takes more memory.
	deadline := time.Now().Add(timeout)
	var peak int64
	for {
		peak = memPeak(t, p.Pid())
		if peak > bound {
			h.kill(p)
			t.Fatalf("worker peak RSS %s after %d huge answers begun (%s of them written), bound %s; worker killed",
				mib(peak), min(proxy.started.Load(), huge), mib(proxy.sent.Load()), mib(bound))
		}
		if proxy.started.Load() > huge && h.st.Sandbox.Stats().Requests > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d huge answers begun after %s\n%s", proxy.started.Load(), huge, timeout, h.tails())
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.waitCommitted(h.produced, timeout)
	peak = memPeak(t, p.Pid())
	m, err := p.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var transient float64
	var attempts []string
	for k, v := range m {
		if strings.HasPrefix(k, "ordersync_upload_attempts_total{") {
			attempts = append(attempts, fmt.Sprintf("%s %.0f", strings.TrimPrefix(k, "ordersync_upload_attempts_total"), v))
			if strings.Contains(k, "result=transient") {
				transient += v
			}
		}
	}
	slices.Sort(attempts)
	f, _ := h.result(timeout)
	if peak > bound {
		t.Errorf("worker peak RSS %s after %d answers of %s, bound %s", mib(peak), huge, mib(size), mib(bound))
	}
	if transient < float64(huge) {
		t.Errorf("%.0f upload attempts counted transient (%v), want at least the %d huge answers", transient, attempts, huge)
	}
	t.Logf("figures %s: %d answers of %s from a proxy (%s written before the worker closed them), 3 in flight: upload attempts %v; worker peak RSS %s (bound %s); %d of %d delivered",
		t.Name(), huge, mib(size), mib(proxy.sent.Load()), attempts, mib(peak), mib(bound), f.Delivered, f.ToDeliver)
}
