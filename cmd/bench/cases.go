package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/stack"
)

// Case names for --cases.
const (
	caseNoLatency  = "no-latency"
	caseLatency1   = "latency-1"
	caseLatency16  = "latency-16"
	caseLatency256 = "latency-256"
	caseBacklog    = "backlog"
)

var allCases = []string{caseNoLatency, caseLatency1, caseLatency16, caseLatency256, caseBacklog, caseNoLatencyPOS}

// spec is one benchmark case.
type spec struct {
	name       string
	partitions int
	inFlight   int
	latency    time.Duration // injected by the sandbox on every answer
	// orders limits the generated orders (0: as many as events need);
	// events limits the uploads (0: every upload of the orders).
	orders, events int
	// mapping is the worker's mapping program; its events are produced in
	// the program's shape (only posProgram's is known).
	mapping string
}

// ordersPerChunk bounds the orders generated and produced at once, so that a
// 1 M-event backlog does not sit in the benchmark's own memory.
const ordersPerChunk = 20000

// uploadsPerOrder is about how many uploads a sample order makes (created,
// a third of them updated, paid; served is skipped and left out).
const uploadsPerOrder = 2.3

// produce generates the case's events — only those that upload — and
// produces them keyed by order, chunk by chunk. Each chunk starts on another
// day so that order numbers never repeat. It returns the events produced.
func produce(ctx context.Context, st *stack.Stack, s spec, seed uint64) (int, error) {
	start := time.Now().AddDate(0, 0, -60).Truncate(24 * time.Hour)
	produced, ordersLeft := 0, s.orders
	for chunk := 0; ; chunk++ {
		n := ordersPerChunk
		if s.orders > 0 {
			n = min(n, ordersLeft)
		} else {
			n = min(n, int(float64(s.events-produced)/uploadsPerOrder)+10)
		}
		if n <= 0 {
			return produced, nil
		}
		ordersLeft -= n
		evs := uploads(sample.Generate(sample.Options{
			Seed: seed + uint64(chunk), Orders: n, Interleave: true,
			Start: start.AddDate(0, 0, chunk),
		}))
		if s.events > 0 && produced+len(evs) > s.events {
			evs = evs[:s.events-produced]
		}
		if s.mapping != "" {
			var err error
			if evs, err = posEvents(evs); err != nil {
				return produced, err
			}
		}
		if err := st.Produce(ctx, evs); err != nil {
			return produced, err
		}
		produced += len(evs)
		if s.events > 0 && produced == s.events {
			return produced, nil
		}
	}
}

// uploads keeps the events that the worker uploads, in order.
func uploads(evs []sample.Event) []sample.Event {
	out := evs[:0]
	for _, e := range evs {
		if e.Expect == sample.ExpectDelivered {
			out = append(out, e)
		}
	}
	return out
}

// pollEvery is how often the benchmark reads the sandbox's count and the
// worker's /proc files; rssEvery how often it keeps an RSS sample.
const (
	pollEvery = 20 * time.Millisecond
	rssEvery  = time.Second
)

// runCase starts a fresh broker and sandbox, produces the case's events,
// runs the worker binary over them and measures it.
func runCase(ctx context.Context, o options, s spec, worker string, progress io.Writer) (result, error) {
	if o.harnessProcs > 0 {
		// Fewer Ps than cores keeps this process's idle Ps from spinning
		// for work on the worker's cores; it needs a fraction of one core.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.harnessProcs))
	}
	dir, err := os.MkdirTemp("", "ordersync-bench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	st, err := stack.Start(stack.Options{
		Dir: dir, Partitions: s.partitions,
		Sandbox: sandbox.Config{ReuseSignatures: true, CountOnly: true, CheckEvery: o.checkEvery},
	})
	if err != nil {
		return result{}, err
	}
	defer st.Close()
	if s.latency > 0 {
		if err := st.Sandbox.SetFaults(sandbox.Faults{Latency: sandbox.Duration(s.latency)}); err != nil {
			return result{}, err
		}
	}
	fmt.Fprintf(progress, "%s: producing…\n", s.name)
	load0 := loadAvg()
	total, err := produce(ctx, st, s, o.seed)
	if err != nil {
		return result{}, err
	}
	logs, err := os.Create(filepath.Join(dir, "worker.log"))
	if err != nil {
		return result{}, err
	}
	defer logs.Close()
	env, err := mappingEnv(s)
	if err != nil {
		return result{}, err
	}
	w, err := stack.StartWorker(worker, st.WorkerEnv(append(env, "ORDERSYNC_MAX_IN_FLIGHT="+strconv.Itoa(s.inFlight))...), logs)
	if err != nil {
		return result{}, err
	}
	fmt.Fprintf(progress, "%s: %d events produced, worker pid %d running\n", s.name, total, w.Pid())
	r, err := measure(ctx, st, w, s, total, caseTimeout(o.caseTimeout, total), progress)
	if err != nil {
		w.Kill()
		return result{}, fmt.Errorf("%s: %w (worker log %s)", s.name, err, tail(logs.Name()))
	}
	if err := scrapeLatencies(ctx, w, &r); err != nil {
		w.Kill()
		return result{}, fmt.Errorf("%s: %w", s.name, err)
	}
	if err := w.Signal(syscall.SIGTERM); err != nil {
		return result{}, fmt.Errorf("%s: stop worker: %w", s.name, err)
	}
	if code, err := w.Wait(30 * time.Second); err != nil || code != 0 {
		return result{}, fmt.Errorf("%s: worker stopped with status %d: %v", s.name, code, err)
	}
	r.Load = [2]float64{load0, loadAvg()}
	stats := st.Sandbox.Stats()
	r.SandboxRecv, r.SandboxChecked = stats.Accepted, stats.Checked
	return r, nil
}

// setSigning fills in the signing figures as the mean of the measurements
// taken just before and just after the case (the machine's load may drift),
// and the figures derived from them.
func (r *result) setSigning(before, after signing) {
	r.SignRates = [2]float64{before.PerSecond, after.PerSecond}
	r.SignRate = (before.PerSecond + after.PerSecond) / 2
	r.SignCPU = (before.Single + after.Single) / 2
	r.Ratio = r.PerSecond / r.SignRate
	if r.CPUPerEvent > 0 {
		r.Efficiency = float64(r.SignCPU) / float64(r.CPUPerEvent)
	}
	if r.Signs > 0 {
		r.ExclSign = r.CPUPerEvent - r.WorkerSignCPU
		r.CPURatio = float64(r.SignCPUDuring) / float64(r.CPUPerEvent+r.HarnessCPU)
	} else { // no per-thread CPU clock on this platform
		r.ExclSign = r.CPUPerEvent - r.SignCPU
	}
}

// caseTimeout is the flag's value, or by default 5 minutes plus 5 ms per
// event: a fifth of the speed the targets ask for on two cores, so that a
// busy shared machine still finishes a 1 M-event backlog.
func caseTimeout(flag time.Duration, events int) time.Duration {
	if flag > 0 {
		return flag
	}
	return 5*time.Minute + time.Duration(events)*5*time.Millisecond
}

// sampleAt is the worker's state at one poll.
type sampleAt struct {
	at        time.Time
	delivered int64
	cpu       time.Duration // the worker's
	harness   time.Duration // this process's: kfake, the sandbox, the polling
}

// measure polls the sandbox's accepted count (in-process, so the worker is
// not scraped while it works) and the worker's /proc files until every event
// is delivered. The window runs from the first poll that sees a delivery to
// the poll that sees the last one, so the worker's start and group join are
// left out. The worker's signature CPU is scraped at both ends.
func measure(ctx context.Context, st *stack.Stack, w *stack.Worker, s spec, total int, timeout time.Duration, progress io.Writer) (result, error) {
	r := result{Case: s.name, Partitions: s.partitions, InFlight: s.inFlight, APILatency: s.latency, Events: total}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var first sampleAt
	var firstSign signCPU
	var rss []rssSample
	var lastRSS, lastReport time.Time
	for {
		select {
		case <-ctx.Done():
			return r, errors.New("interrupted")
		case <-deadline.C:
			return r, fmt.Errorf("only %d of %d events delivered after %s", st.Sandbox.Count(), total, timeout)
		case <-w.Exited():
			return r, errors.New("the worker exited early")
		case <-tick.C:
		}
		stats := st.Sandbox.Stats()
		if stats.SignErrors+stats.ParamErrors > 0 {
			return r, fmt.Errorf("the sandbox refused %d signatures and %d bodies of the %d it checked", stats.SignErrors, stats.ParamErrors, stats.Checked)
		}
		n := stats.Accepted
		if n == 0 {
			continue
		}
		cpu, err := procCPU(w.Pid())
		if err != nil {
			return r, err
		}
		harness, err := procCPU(os.Getpid())
		if err != nil {
			return r, err
		}
		now := time.Now()
		if first.delivered == 0 {
			first = sampleAt{at: now, delivered: n, cpu: cpu, harness: harness}
			if firstSign, err = scrapeSignCPU(ctx, w); err != nil {
				return r, err
			}
		}
		if now.Sub(lastRSS) >= rssEvery || n >= int64(total) {
			mem, err := procMemory(w.Pid())
			if err != nil {
				return r, err
			}
			rss = append(rss, rssSample{done: n, rss: mem.RSS})
			r.PeakRSS = mem.HWM
			lastRSS = now
		}
		if now.Sub(lastReport) >= 10*time.Second {
			fmt.Fprintf(progress, "%s: %d/%d delivered\n", s.name, n, total)
			lastReport = now
		}
		if n < int64(total) {
			continue
		}
		if n > int64(total) {
			return r, fmt.Errorf("the sandbox accepted %d uploads of %d events", n, total)
		}
		r.Measured = n - first.delivered
		r.Window = now.Sub(first.at)
		if r.Measured <= 0 || r.Window <= 0 {
			return r, fmt.Errorf("all %d events were delivered before the first poll: use more events", total)
		}
		r.PerSecond = float64(r.Measured) / r.Window.Seconds()
		r.CPUPerEvent = (cpu - first.cpu) / time.Duration(r.Measured)
		r.HarnessCPU = (harness - first.harness) / time.Duration(r.Measured)
		lastSign, err := scrapeSignCPU(ctx, w)
		if err != nil {
			return r, err
		}
		if signs := lastSign.count - firstSign.count; signs > 0 {
			r.Signs = int64(signs)
			r.SignCPUDuring = (lastSign.total - firstSign.total) / time.Duration(signs)
			r.WorkerSignCPU = (lastSign.total - firstSign.total) / time.Duration(r.Measured)
		}
		r.RSS = quartiles(rss, int64(total))
		return r, nil
	}
}

// signCPU is the worker's ordersync_signature_cpu_seconds totals: the CPU
// time of its request signatures, measured on the signing thread.
type signCPU struct {
	total time.Duration
	count float64
}

// scrapeSignCPU reads the worker's signature CPU totals: one scrape at each
// end of the window, negligible beside the window's work.
func scrapeSignCPU(ctx context.Context, w *stack.Worker) (signCPU, error) {
	m, err := w.Metrics(ctx)
	if err != nil {
		return signCPU{}, err
	}
	return signCPU{
		total: time.Duration(m["ordersync_signature_cpu_seconds_sum"] * float64(time.Second)),
		count: m["ordersync_signature_cpu_seconds_count"],
	}, nil
}

// rssSample is the worker's resident set after done deliveries.
type rssSample struct {
	done int64
	rss  uint64
}

// quartiles returns the highest RSS sampled up to 25, 50, 75 and 100 % of
// total deliveries (0 where no sample fell into a quarter).
func quartiles(samples []rssSample, total int64) []uint64 {
	out := make([]uint64, 4)
	for _, s := range samples {
		q := min(int((s.done*4-1)/total), 3)
		out[q] = max(out[q], s.rss)
	}
	return out
}

// scrapeLatencies reads the worker's two latency histograms once, after the
// last delivery.
func scrapeLatencies(ctx context.Context, w *stack.Worker, r *result) error {
	b, n, err := w.Histogram(ctx, "ordersync_end_to_end_latency_seconds")
	if err != nil {
		return err
	}
	r.EndToEnd = latencyOf(b, n)
	if b, n, err = w.Histogram(ctx, "ordersync_upload_duration_seconds"); err != nil {
		return err
	}
	r.Upload = latencyOf(b, n)
	return nil
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return path
	}
	const keep = 2000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return path + ":\n" + string(b)
}
