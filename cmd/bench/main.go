// Command bench measures the worker binary against an in-process Kafka
// broker (kfake) and the WeChat Pay sandbox, which reuses one response
// signature per second and keeps only a count so that its own CPU stays
// small. It runs each case on a fresh broker and sandbox with a
// pre-produced backlog, measures the machine's RSA-2048 signing rate just
// before and just after each case, and prints one line per case — events/s, end-to-end and upload latency, worker
// CPU per event, peak RSS, the signing rate and the ratio — and PASS or MISS
// for each target of issue 7.
//
//	go run ./cmd/bench --worker bin/worker [--cases no-latency,backlog] [--backlog 1000000] [--json]
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
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	worker        string
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
	if _, err := os.Stat(o.worker); err != nil {
		return fmt.Errorf("worker binary %s not found: run `make build` first (make bench does)", o.worker)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	h := header{GoVersion: runtime.Version(), Command: "bench " + strings.Join(os.Args[1:], " "), CheckEvery: max(o.checkEvery, 1)}
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
		fmt.Fprintf(progress, "%s: measuring the signing rate for %s…\n", s.name, o.signFor)
		before, err := measureSigning(ctx, key, o.signFor)
		if err != nil {
			return err
		}
		r, err := runCase(ctx, o, s, progress)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "%s: measuring the signing rate again for %s…\n", s.name, o.signFor)
		after, err := measureSigning(ctx, key, o.signFor)
		if err != nil {
			return err
		}
		r.setSigning(before, after)
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
