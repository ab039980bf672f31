// Command demo runs ordersync's main job end to end on one machine: an
// in-process Kafka-protocol broker, the WeChat Pay sandbox (with some latency,
// transient errors and one sub-merchant it rejects), a few hundred realistic
// sample orders, and the real worker binary. It prints progress while the
// worker runs and a summary checked against what each sample event should
// become, and exits 1 if they differ. The worker serves two merchant accounts
// (a service provider and a channel partner) from a merchant registry that
// files one sub-merchant under the wrong account: the demo shows it held,
// fixes the registry, reloads it with SIGHUP, replays the sub-merchant's dead
// letters with `worker replay --merchant` and checks that all of them are
// delivered through the right account.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/stack"
)

const rejectedSubMchID = "1900000999"

type options struct {
	worker      string
	orders      int
	seed        uint64
	timeout     time.Duration
	keep        bool
	brokerPort  int
	sandboxPort int
	mapping     string
}

func main() {
	var o options
	flag.StringVar(&o.worker, "worker", "bin/worker", "path of the worker binary (make build)")
	flag.IntVar(&o.orders, "orders", 300, "sample orders to produce")
	flag.Uint64Var(&o.seed, "seed", 20261126, "seed of the sample orders")
	flag.DurationVar(&o.timeout, "timeout", 100*time.Second, "give up after this long")
	flag.BoolVar(&o.keep, "keep", false, "keep the broker and the sandbox running after the summary, to try `worker dlq` and `worker replay`")
	flag.IntVar(&o.brokerPort, "broker-port", 19092, "loopback port of the broker (0 = any)")
	flag.IntVar(&o.sandboxPort, "sandbox-port", 18080, "loopback port of the sandbox (0 = any)")
	flag.StringVar(&o.mapping, "mapping", "", "run the worker with this mapping program (docs/mappings/pos-export/program.jq), producing the sample orders in its shape")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	if _, err := os.Stat(o.worker); err != nil {
		return fmt.Errorf("worker binary %s not found: run `make build` first (make demo does)", o.worker)
	}
	dir, err := os.MkdirTemp("", "ordersync-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintln(out, "ordersync demo: starting an in-process Kafka broker and the WeChat Pay sandbox…")
	ch, accounts, bindings, err := newChannelAccount(filepath.Join(dir, "keys"))
	if err != nil {
		return err
	}
	st, err := stack.Start(stack.Options{Dir: dir, BrokerPort: o.brokerPort, SandboxPort: o.sandboxPort,
		Sandbox: sandbox.Config{Accounts: accounts, Bindings: bindings}})
	if err != nil {
		return err
	}
	defer st.Close()
	reg := registry{path: filepath.Join(dir, "merchants.yaml"), sp: st.Creds, ch: ch, spAppID: "wx1234567890abcdef"}
	if err := reg.write(spAccount); err != nil {
		return err
	}
	if err := st.Sandbox.SetFaults(sandbox.Faults{
		Latency:         sandbox.Duration(20 * time.Millisecond),
		LatencyJitter:   sandbox.Duration(60 * time.Millisecond),
		ServerErrorRate: 0.05,
		RateLimitRate:   0.02,
		Rejections: []sandbox.Rejection{{
			SubMchID: rejectedSubMchID, Status: 403, Code: "NO_AUTH",
			Message: "sub-merchant has not been granted the catering product",
		}},
	}); err != nil {
		return err
	}
	events := sample.Generate(sample.Options{
		Seed: o.seed, Orders: o.orders, InvalidPercent: 8,
		RejectedPercent: 5, RejectedSubMchID: rejectedSubMchID, Interleave: true,
	})
	moved := misfile(events)
	want := expected(events)
	mappingEnv, err := mappingShape(o.mapping, events)
	if err != nil {
		return err
	}
	if err := st.Produce(ctx, events); err != nil {
		return err
	}
	fmt.Fprintf(out, "  broker   %s  topic %s (%d partitions), dead letters to %s\n", st.Broker, st.Topic, 6, st.DLQTopic)
	fmt.Fprintf(out, "  sandbox  %s  20–80 ms latency, 5%% 500s, 2%% 429s, sub-merchant %s rejected (403 NO_AUTH)\n", st.URL, rejectedSubMchID)
	if o.mapping != "" {
		fmt.Fprintf(out, "  mapping  %s: the events are produced in the POS export shape (yuan strings, items)\n", o.mapping)
	}
	fmt.Fprintf(out, "  accounts %s (service provider %s) and %s (channel partner %s) in %s;\n"+
		"           sub-merchant %s is an indirect restaurant of %s but filed under %s: %d of its events are to be delivered\n",
		spAccount, st.Creds.MchID, channelAccount, ch.MchID, reg.path, misfiledSubMchID, channelAccount, spAccount, moved)
	fmt.Fprintf(out, "  produced %d events of %d orders: expect %d delivered, %d skipped, %d invalid, %d rejected\n\n",
		len(events), o.orders, want[sample.ExpectDelivered], want[sample.ExpectSkipped], want[sample.ExpectInvalid], want[sample.ExpectRejected])

	logs, err := os.Create(filepath.Join(dir, "worker.log"))
	if err != nil {
		return err
	}
	defer logs.Close()
	started := time.Now()
	w, err := stack.StartWorker(o.worker, reg.env(st, append([]string{
		"ORDERSYNC_RETRY_INITIAL_INTERVAL=100ms", "ORDERSYNC_RETRY_MAX_INTERVAL=2s",
		"ORDERSYNC_MAX_IN_FLIGHT=64", "ORDERSYNC_LOG_LEVEL=warn",
	}, mappingEnv...)...), logs)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "worker started (metrics on http://%s/metrics); progress:\n", w.HTTPAddr)
	got, err := watch(ctx, w, len(events), o.timeout, out)
	if err != nil {
		w.Kill()
		return fmt.Errorf("%w (worker log: %s)", err, tail(logs.Name()))
	}
	dead, err := st.ReadTopic(ctx, st.DLQTopic)
	if err != nil {
		w.Kill()
		return err
	}
	// Until the registry is fixed, the mis-filed sub-merchant's events are rejected.
	first := map[sample.Expect]int{}
	maps.Copy(first, want)
	first[sample.ExpectDelivered] -= moved
	first[sample.ExpectRejected] += moved
	if err := summary(out, st, got, dead, first, len(events), time.Since(started)); err != nil {
		w.Kill()
		return err
	}
	if err := showHeld(out, dead, logs.Name()); err != nil {
		w.Kill()
		return err
	}
	if err := fixAndReplay(ctx, out, o, st, reg, w, moved); err != nil {
		w.Kill()
		return fmt.Errorf("%w (worker log: %s)", err, tail(logs.Name()))
	}
	got, err = watch(ctx, w, len(events)+moved, o.timeout, out)
	elapsed := time.Since(started)
	if err != nil {
		w.Kill()
		return fmt.Errorf("%w (worker log: %s)", err, tail(logs.Name()))
	}
	if dead, err = st.ReadTopic(ctx, st.DLQTopic); err != nil {
		w.Kill()
		return err
	}
	// The dead letters stay in their topic: the replayed ones among them are now delivered.
	final := map[sample.Expect]int{}
	maps.Copy(final, want)
	final[sample.ExpectRejected] += moved
	mismatch := summary(out, st, got, dead, final, len(events)+moved, elapsed)
	if mismatch == nil {
		mismatch = checkAccounts(out, st, moved)
	}
	if o.keep {
		keep(ctx, out, st, w)
	}
	if err := w.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	code, err := w.Wait(15 * time.Second)
	if err != nil || code != 0 {
		return fmt.Errorf("worker stopped with status %d: %v", code, err)
	}
	if mismatch != nil {
		return mismatch
	}
	fmt.Fprintln(out, "the worker stopped cleanly on SIGTERM (exit 0)")
	return printReport(ctx, out, o.worker, st)
}

func expected(events []sample.Event) map[sample.Expect]int {
	want := map[sample.Expect]int{}
	for _, e := range events {
		want[e.Expect]++
	}
	return want
}

// counts are the worker's own outcome counters.
type counts struct{ delivered, skipped, invalid, rejected, exhausted float64 }

func (c counts) done() float64 {
	return c.delivered + c.skipped + c.invalid + c.rejected + c.exhausted
}

func scrape(ctx context.Context, w *stack.Worker) (counts, error) {
	m, err := w.Metrics(ctx)
	if err != nil {
		return counts{}, err
	}
	dl := func(class string) float64 { return m["ordersync_events_dead_lettered_total{class="+class+"}"] }
	return counts{
		delivered: m["ordersync_events_delivered_total"],
		skipped:   m["ordersync_events_skipped_total"],
		invalid:   dl(dlq.ClassInvalidEvent),
		rejected:  dl(dlq.ClassRejected),
		exhausted: dl(dlq.ClassRetriesExhausted),
	}, nil
}

// watch prints a progress line each second until every event is accounted for.
func watch(ctx context.Context, w *stack.Worker, total int, timeout time.Duration, out io.Writer) (counts, error) {
	deadline := time.After(timeout)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var c counts
	for {
		select {
		case <-ctx.Done():
			return c, errors.New("interrupted")
		case <-deadline:
			return c, fmt.Errorf("only %.0f of %d events done after %s", c.done(), total, timeout)
		case <-w.Exited():
			return c, errors.New("the worker exited early")
		case <-tick.C:
		}
		next, err := scrape(ctx, w)
		if err != nil {
			continue // not listening yet
		}
		c = next
		fmt.Fprintf(out, "  %4.0f/%d  delivered %-4.0f skipped %-3.0f dead-lettered %.0f (invalid %.0f, rejected %.0f, retries exhausted %.0f)\n",
			c.done(), total, c.delivered, c.skipped, c.invalid+c.rejected+c.exhausted, c.invalid, c.rejected, c.exhausted)
		if int(c.done()) >= total {
			return c, nil
		}
	}
}

func headers(m kafka.Message) map[string]string {
	h := make(map[string]string, len(m.Headers))
	for _, kv := range m.Headers {
		h[kv.Key] = string(kv.Value)
	}
	return h
}

func summary(out io.Writer, st *stack.Stack, c counts, dead []kafka.Message, want map[sample.Expect]int, total int, elapsed time.Duration) error {
	byClass := map[string]int{}
	reasons := map[string]int{}
	for _, m := range dead {
		h := headers(m)
		byClass[h[dlq.HeaderErrorClass]]++
		reason := h[dlq.HeaderErrorClass] + ": " + h[dlq.HeaderErrorField]
		if msg := h[dlq.HeaderErrorMessage]; strings.HasPrefix(msg, "mapping: ") {
			reason += msg // the program failed: no field, the message says why
		}
		if code := h[dlq.HeaderErrorCode]; code != "" {
			reason = h[dlq.HeaderErrorClass] + ": " + h[dlq.HeaderErrorHTTPStatus] + " " + code
		}
		reasons[reason]++
	}
	stats := st.Sandbox.Stats()
	fmt.Fprintf(out, "\nsummary after %s (%.0f events/s)\n", elapsed.Round(10*time.Millisecond), float64(total)/elapsed.Seconds())
	fmt.Fprintf(out, "  delivered        %4.0f  (sandbox accepted %d signed uploads; %d requests in all, retries included)\n", c.delivered, stats.Accepted, stats.Requests)
	fmt.Fprintf(out, "  skipped          %4.0f  (order.served is in ORDERSYNC_SKIP_TYPES)\n", c.skipped)
	fmt.Fprintf(out, "  dead-lettered    %4d  in %s:\n", len(dead), st.DLQTopic)
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "      %3d  %s\n", reasons[k], k)
	}
	checks := []struct {
		name      string
		got, want int
	}{
		{"delivered", int(c.delivered), want[sample.ExpectDelivered]},
		{"skipped", int(c.skipped), want[sample.ExpectSkipped]},
		{"invalid_event", byClass[dlq.ClassInvalidEvent], want[sample.ExpectInvalid]},
		{"rejected", byClass[dlq.ClassRejected], want[sample.ExpectRejected]},
		{"retries_exhausted", byClass[dlq.ClassRetriesExhausted], 0},
	}
	var bad []string
	for _, ch := range checks {
		if ch.got != ch.want {
			bad = append(bad, fmt.Sprintf("%s %d, expected %d", ch.name, ch.got, ch.want))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("outcomes differ from the sample's expectations: %s", strings.Join(bad, "; "))
	}
	fmt.Fprintln(out, "  every event ended as its sample expected")
	return nil
}

// keep leaves the broker, the sandbox and the worker up for the runbook's commands.
func keep(ctx context.Context, out io.Writer, st *stack.Stack, w *stack.Worker) {
	fmt.Fprintf(out, "\nThe broker, the sandbox and the worker (metrics on http://%s/metrics) stay up until Ctrl-C. In another shell:\n", w.HTTPAddr)
	fmt.Fprintf(out, "  export ORDERSYNC_BROKERS=%s ORDERSYNC_DLQ_TOPIC=%s\n", st.Broker, st.DLQTopic)
	fmt.Fprintf(out, "  bin/worker dlq\n  bin/worker replay --class rejected --dry-run\n")
	fmt.Fprintf(out, "  curl -X DELETE -H 'Authorization: Bearer %s' %s/sandbox/faults   # \"fix\" the rejection, then: bin/worker replay --class rejected\n", st.AdminToken, st.URL)
	<-ctx.Done()
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return path
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return path + ":\n" + strings.Join(lines, "\n")
}
