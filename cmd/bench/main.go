// Command bench measures the worker binary against an in-process Kafka
// broker (kfake) and the WeChat Pay sandbox, which reuses one response
// signature per second and keeps only a count so that its own CPU stays
// small. It runs each case on a fresh broker and sandbox with a
// pre-produced backlog, measures the machine's RSA-2048 signing rate and the
// CPU of one signature just before and just after each case, and prints one
// line per case — events/s, worker CPU per event beside the fastest
// signature and their ratio (efficiency), end-to-end and upload latency,
// peak RSS, the signing rate — and PASS or MISS for each target of issues 7
// and 17. With --baseline the no-latency case runs again, right after, with
// that binary (make bench: the CRYPTO=go build). Built with BoringCrypto
// (make bench does so where it can), the bench measures the fastest
// signature with it whatever the worker signs with.
//
//	go run ./cmd/bench --worker bin/worker [--baseline bin/worker-go] [--cases no-latency,backlog] [--backlog 1000000] [--json]
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ordersync/ordersync/internal/buildcrypto"
)

type options struct {
	worker        string
	baseline      string
	cases         []string
	events        int
	inFlight      int
	latency       time.Duration
	latencyOrders int
	latency1      int
	backlog       int
	seed          uint64
	signFor       time.Duration
	caseTimeout   time.Duration
	checkEvery    int
	harnessProcs  int
	json          bool
	quotaEvents   int
}

// errMissed reports that a target was missed (exit status 1).
var errMissed = errors.New("a target was missed")

func main() {
	var o options
	var cases string
	flag.StringVar(&o.worker, "worker", "bin/worker", "path of the worker binary (make build)")
	flag.StringVar(&o.baseline, "baseline", "", "path of a second worker binary to run the no-latency case with, right after --worker's (make bench: bin/worker-go)")
	every := append(slices.Clone(allCases), accountCases...)
	flag.StringVar(&cases, "cases", strings.Join(every, ","), "comma-separated cases to run: "+strings.Join(every, ", "))
	flag.IntVar(&o.events, "events", 20000, "events of the no-latency case")
	flag.IntVar(&o.inFlight, "in-flight", 256, "ORDERSYNC_MAX_IN_FLIGHT of the no-latency case")
	flag.DurationVar(&o.latency, "latency", 100*time.Millisecond, "API latency of the latency cases")
	flag.IntVar(&o.latencyOrders, "latency-orders", 1000, "orders (all their uploads) of the latency cases at in-flight 16 and 256")
	flag.IntVar(&o.latency1, "latency1-events", 100, "events of the latency case at in-flight 1 (one per API round trip)")
	flag.IntVar(&o.backlog, "backlog", 200000, "events of the backlog case (1000000 for the full 1 M case)")
	flag.Uint64Var(&o.seed, "seed", 20261126, "seed of the sample orders")
	flag.DurationVar(&o.signFor, "sign-time", 3*time.Second, "how long to measure the signing rate on all cores")
	flag.DurationVar(&o.caseTimeout, "case-timeout", 0, "give up on a case after this long (0: 5 minutes plus 5 ms per event)")
	flag.IntVar(&o.checkEvery, "check-every", 16, "the sandbox verifies the signature and validates the body of one request in this many (1: every request)")
	flag.IntVar(&o.harnessProcs, "harness-procs", 1, "GOMAXPROCS of this process while a case runs (kfake, the sandbox, the producer); 0 leaves it at the number of CPUs")
	flag.BoolVar(&o.json, "json", false, "print JSON lines instead of text")
	flag.IntVar(&o.quotaEvents, "quota-events", 4500, "events of the quota-shared case (30 s at its 150 requests/s)")
	flag.Parse()
	o.cases = strings.Split(cases, ",")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

// specs returns the selected cases in the order given.
func specs(o options) ([]spec, error) {
	if o.events < 1 || o.inFlight < 1 || o.latencyOrders < 1 || o.latency1 < 1 || o.backlog < 1 || o.latency <= 0 {
		return nil, errors.New("--events, --in-flight, --latency-orders, --latency1-events, --backlog and --latency must be positive")
	}
	var out []spec
	for _, name := range o.cases {
		s := spec{name: strings.TrimSpace(name), partitions: 1, latency: o.latency}
		switch s.name {
		case caseNoLatency:
			s.partitions, s.inFlight, s.latency, s.events = 6, o.inFlight, 0, o.events
		case caseLatency1:
			s.inFlight, s.events = 1, o.latency1
		case caseLatency16:
			s.inFlight, s.orders = 16, o.latencyOrders
		case caseLatency256:
			s.inFlight, s.orders = 256, o.latencyOrders
		case caseBacklog:
			s.partitions, s.inFlight, s.latency, s.events = 6, 256, 0, o.backlog
		case caseNoLatencyPOS:
			s.partitions, s.inFlight, s.latency, s.events, s.mapping = 6, o.inFlight, 0, o.events, posProgram
		default:
			return nil, fmt.Errorf("unknown case %q (cases: %s)", s.name, strings.Join(allCases, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

func run(ctx context.Context, o options, out, progress io.Writer) error {
	var acctCases []string
	o.cases, acctCases = splitAccountCases(o.cases)
	list, err := specs(o)
	if err != nil {
		return err
	}
	h := header{GoVersion: runtime.Version(), Command: "bench " + strings.Join(os.Args[1:], " "), CheckEvery: max(o.checkEvery, 1),
		Worker: o.worker, Baseline: o.baseline, SignCrypto: buildcrypto.Name()}
	if h.WorkerCrypto, err = workerCrypto(ctx, o.worker); err != nil {
		return err
	}
	if o.baseline != "" {
		if h.BaselineCrypto, err = workerCrypto(ctx, o.baseline); err != nil {
			return err
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	h.CPUs, h.Model = machine()
	enc := json.NewEncoder(out)
	if o.json {
		if err := enc.Encode(h); err != nil {
			return err
		}
	} else {
		printHeader(out, h)
	}
	var results []result
	for _, s := range list {
		runs := []workerRun{{worker: o.worker, crypto: h.WorkerCrypto}}
		if s.name == caseNoLatency && o.baseline != "" {
			runs = append(runs, workerRun{worker: o.baseline, crypto: h.BaselineCrypto, baseline: true})
		}
		for _, one := range runs {
			r, err := runMeasured(ctx, o, s, one, key, progress)
			if err != nil {
				return err
			}
			results = append(results, r)
			if o.json {
				err = enc.Encode(r)
			} else {
				_, err = fmt.Fprintln(out, r.line())
			}
			if err != nil {
				return err
			}
		}
	}
	missed := false
	for _, v := range verdicts(results) {
		if o.json {
			err = enc.Encode(v)
		} else {
			_, err = fmt.Fprintln(out, v.line())
		}
		if err != nil {
			return err
		}
		missed = missed || !v.Pass
	}
	acctMissed, err := runAccountCases(ctx, o, acctCases, out, progress)
	if err != nil {
		return err
	}
	if missed || acctMissed {
		return errMissed
	}
	return nil
}

// workerRun is one worker binary that a case runs with.
type workerRun struct {
	worker, crypto string
	baseline       bool
}

// runMeasured runs case s with one worker binary between two measurements
// of the signing rate.
func runMeasured(ctx context.Context, o options, s spec, one workerRun, key *rsa.PrivateKey, progress io.Writer) (result, error) {
	fmt.Fprintf(progress, "%s (%s): measuring the signing rate for %s…\n", s.name, one.worker, o.signFor)
	before, err := measureSigning(ctx, key, o.signFor)
	if err != nil {
		return result{}, err
	}
	r, err := runCase(ctx, o, s, one.worker, progress)
	if err != nil {
		return result{}, err
	}
	fmt.Fprintf(progress, "%s (%s): measuring the signing rate again for %s…\n", s.name, one.worker, o.signFor)
	after, err := measureSigning(ctx, key, o.signFor)
	if err != nil {
		return result{}, err
	}
	r.setSigning(before, after)
	r.Worker, r.WorkerCrypto, r.Baseline = one.worker, one.crypto, one.baseline
	return r, nil
}

// workerCrypto asks a worker binary what it signs with (`worker version`
// prints "ordersync VERSION crypto=NAME").
func workerCrypto(ctx context.Context, path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("worker binary %s not found: run `make build` first (make bench does)", path)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "version").Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %w", path, err)
	}
	return parseVersionCrypto(string(out)), nil
}

// parseVersionCrypto returns NAME of the "crypto=NAME" word of a `worker
// version` line, or "unknown" for a binary older than that word.
func parseVersionCrypto(line string) string {
	for _, f := range strings.Fields(line) {
		if name, ok := strings.CutPrefix(f, "crypto="); ok {
			return name
		}
	}
	return "unknown"
}
