package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/stack"
)

// workerBin is the worker binary built once by TestMain.
var workerBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ordersync-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if workerBin, err = buildWorker(dir); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	return m.Run()
}

// buildWorker builds cmd/worker from the module root into dir, with the
// race detector in the long tier (workerBuildFlags).
func buildWorker(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the ordersync module")
	}
	bin := filepath.Join(dir, "worker")
	args := append([]string{"build"}, workerBuildFlags...)
	cmd := exec.Command("go", append(args, "-o", bin, "./cmd/worker")...)
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the worker: %w\n%s", err, out)
	}
	return bin, nil
}

// Worker settings shared by every scenario: short group and retry timings
// so that a crash costs seconds, not the production defaults' tens.
const (
	maxInFlight     = 16
	partitions      = 6
	sessionTimeout  = 3 * time.Second
	shutdownTimeout = 3 * time.Second
	// exitBound is how long a SIGTERMed worker may take: ShutdownTimeout to
	// drain, the consumer's 5 s grace to commit and leave, 2 s for the
	// HTTP server, and 1 s of slack for process start-up on a busy machine.
	exitBound = shutdownTimeout + 5*time.Second + 2*time.Second + time.Second
)

func baseEnv() []string {
	return []string{
		fmt.Sprintf("ORDERSYNC_MAX_IN_FLIGHT=%d", maxInFlight),
		"ORDERSYNC_SESSION_TIMEOUT=" + sessionTimeout.String(),
		"ORDERSYNC_REBALANCE_TIMEOUT=" + sessionTimeout.String(),
		"ORDERSYNC_SHUTDOWN_TIMEOUT=" + shutdownTimeout.String(),
		"ORDERSYNC_RETRY_INITIAL_INTERVAL=50ms",
		"ORDERSYNC_RETRY_MAX_INTERVAL=500ms",
		"ORDERSYNC_REQUEST_TIMEOUT=2s",
		"ORDERSYNC_LOG_LEVEL=debug", // every upload logged: the secret scan sees the most
		"GORACE=halt_on_error=1",
	}
}

// options shape one scenario's stack and sample.
type options struct {
	persist bool
	faults  sandbox.Faults
	sample  sample.Options
	env     []string // extra worker settings
	// quota is the sandbox account's request quota, requests/s shared by
	// every worker; 0 = none.
	quota float64
	// replayed expects rejected events delivered after a replay.
	replayed bool
	// accounts and bindings are the sandbox's further merchant accounts and
	// its sub-merchant bindings.
	accounts []sandbox.Account
	bindings []sandbox.Binding
	// mapping, when set, is called once the stack is up and returns the
	// mapper configuration the expected bodies are computed with (by
	// default: the stack's single service-provider account).
	mapping func(st *stack.Stack) (mapper.Config, error)
	// edit, when set, changes each batch of sample events before it is
	// expected and produced.
	edit func([]sample.Event)
}

// harness is one scenario: a stack, the sample events, the worker
// processes it started and the moments they started, died or exited.
type harness struct {
	t      *testing.T
	st     *stack.Stack
	dir    string
	opts   options
	rng    *rand.Rand
	client *kafka.Client
	mapper *mapper.Mapper // configured as the workers are
	events []sample.Event
	want   expectation
	// produced counts the records of the source topic (replays included).
	produced int64
	started  time.Time

	mu         sync.Mutex
	procs      []*proc
	lifecycle  []time.Time
	crashes    int
	recoveries []time.Duration
	exits      []time.Duration
}

// proc is one worker process and its log file.
type proc struct {
	*stack.Worker
	n    int
	log  *os.File
	done bool
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	dir := t.TempDir()
	st, err := stack.Start(stack.Options{Dir: dir, Partitions: partitions, Persist: o.persist,
		Sandbox: sandbox.Config{Quota: o.quota, Accounts: o.accounts, Bindings: o.bindings}})
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("chaos seed %d", seed)
	h := &harness{
		t: t, st: st, dir: dir, opts: o,
		rng:    rand.New(rand.NewPCG(seed, seed>>1)),
		client: &kafka.Client{Addr: kafka.TCP(st.Broker), Timeout: 3 * time.Second, Transport: &kafka.Transport{}},
	}
	t.Cleanup(h.close)
	if err := st.Sandbox.SetFaults(o.faults); err != nil {
		t.Fatal(err)
	}
	mcfg := mapper.Config{
		Mode: mapper.ModeServiceProvider, MchID: st.Creds.MchID, SpAppID: "wx1234567890abcdef",
		SkipTypes: mapper.DefaultSkipTypes,
	}
	if o.mapping != nil {
		if mcfg, err = o.mapping(st); err != nil {
			t.Fatal(err)
		}
	}
	m, err := mapper.New(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	h.mapper = m
	h.events = sample.Generate(o.sample)
	if o.edit != nil {
		o.edit(h.events)
	}
	if h.want, err = expect(m, h.events, o.replayed); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := st.Produce(ctx, h.events); err != nil {
		t.Fatal(err)
	}
	h.produced = int64(len(h.events))
	h.started = time.Now()
	return h
}

func (h *harness) close() {
	h.mu.Lock()
	procs := h.procs
	h.mu.Unlock()
	for _, p := range procs {
		if !p.done {
			p.Kill()
		}
		_ = p.log.Close()
	}
	if h.t.Failed() {
		h.keepLogs(procs)
	}
	if tr, ok := h.client.Transport.(*kafka.Transport); ok {
		tr.CloseIdleConnections()
	}
	h.st.Close()
}

// keepLogs copies the worker logs of a failed scenario out of its
// temporary directory, which the test framework removes.
func (h *harness) keepLogs(procs []*proc) {
	dst, err := os.MkdirTemp("", "ordersync-chaos-logs-")
	if err != nil {
		h.t.Log(err)
		return
	}
	for _, p := range procs {
		b, err := os.ReadFile(p.log.Name())
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, filepath.Base(p.log.Name())), b, 0o600)
		}
		if err != nil {
			h.t.Log(err)
		}
	}
	h.t.Logf("worker logs kept in %s", dst)
}

func (h *harness) mark() {
	h.mu.Lock()
	h.lifecycle = append(h.lifecycle, time.Now())
	h.mu.Unlock()
}

// handedOver waits until the group has settled with members members after
// a membership change, then marks a lifecycle moment: the old owners of moved
// partitions have drained by then (the group waits for them), so uploads the
// new owners make from the committed offsets count as after a handoff, not
// as within the old owners' lifetime.
func (h *harness) handedOver(members int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.st.Cluster.WaitGroupStable(ctx, "ordersync", members); err != nil {
		h.t.Fatalf("group did not settle with %d members: %v", members, err)
	}
	h.mark()
}

// start runs a worker process with the scenario's settings plus extra.
func (h *harness) start(extra ...string) *proc {
	h.t.Helper()
	h.mu.Lock()
	n := len(h.procs) + 1
	h.mu.Unlock()
	f, err := os.Create(filepath.Join(h.dir, fmt.Sprintf("worker-%d.log", n)))
	if err != nil {
		h.t.Fatal(err)
	}
	env := h.st.WorkerEnv(append(append(baseEnv(), h.opts.env...), extra...)...)
	h.mark()
	w, err := stack.StartWorker(workerBin, env, f)
	if err != nil {
		h.t.Fatal(err)
	}
	p := &proc{Worker: w, n: n, log: f}
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	return p
}

// settle waits until the sandbox has answered every request it received
// (at most 2 s): the requests a dead or stopped process sent just before
// it ended are recorded before the next lifecycle moment, so that they are
// not taken for uploads of the next process. When no worker is left
// running it also waits until the sandbox holds no connection: a request
// still in a socket buffer, not yet read, is not counted as received.
func (h *harness) settle() {
	alone := true
	h.mu.Lock()
	for _, p := range h.procs {
		alone = alone && p.done
	}
	h.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		s := h.st.Sandbox.Stats()
		answered := s.Dropped + s.Hung
		for _, n := range s.ByStatus {
			answered += n
		}
		if answered >= s.Requests && (!alone || h.st.SandboxConns() == 0) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill SIGKILLs p: a crash.
func (h *harness) kill(p *proc) {
	p.Kill()
	p.done = true
	h.settle()
	h.mark()
	h.mu.Lock()
	h.crashes++
	h.mu.Unlock()
}

// terminate SIGTERMs p and requires exit status 0 within exitBound.
func (h *harness) terminate(p *proc) time.Duration {
	h.t.Helper()
	// A process signalled before it installed its handler dies of the
	// signal; the contract is about a running worker, so wait until it
	// serves /healthz.
	for deadline := time.Now().Add(exitBound); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		code, _, err := p.Get(ctx, "/healthz")
		cancel()
		if err == nil && code > 0 {
			break
		}
	}
	at := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		h.t.Fatalf("signal worker %d: %v", p.n, err)
	}
	code, err := p.Wait(exitBound)
	took := time.Since(at)
	p.done = true
	h.settle()
	h.mark()
	h.mu.Lock()
	h.exits = append(h.exits, took)
	h.mu.Unlock()
	if err != nil || code != 0 {
		h.t.Fatalf("worker %d on SIGTERM: exit status %d after %s (bound %s): %v\n%s", p.n, code, took.Round(time.Millisecond), exitBound, err, h.tail(p))
	}
	return took
}

// committed returns the sum over the source partitions of the group's
// committed offsets: how many records are finished for good.
func (h *harness) committed(ctx context.Context) (int64, error) {
	ids := make([]int, partitions)
	for i := range ids {
		ids[i] = i
	}
	resp, err := h.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: "ordersync", Topics: map[string][]int{h.st.Topic: ids}})
	if err != nil {
		return 0, err
	}
	if resp.Error != nil {
		if errors.Is(resp.Error, kafka.GroupIdNotFound) {
			return 0, nil // kfake: no commit yet
		}
		return 0, resp.Error
	}
	var sum int64
	for _, p := range resp.Topics[h.st.Topic] {
		if p.Error != nil {
			return 0, p.Error
		}
		if p.CommittedOffset > 0 {
			sum += p.CommittedOffset
		}
	}
	return sum, nil
}

// waitCommitted waits until at least n records are committed.
func (h *harness) waitCommitted(n int64, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	var got int64
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := h.committed(ctx)
		cancel()
		if err == nil {
			if got = c; got >= n {
				return
			}
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("only %d of %d records committed after %s (last error: %v)\n%s", got, n, timeout, lastErr, h.tails())
}

// waitFraction waits until frac of the produced records are committed.
func (h *harness) waitFraction(frac float64, timeout time.Duration) {
	h.t.Helper()
	h.waitCommitted(int64(frac*float64(h.produced)), timeout)
}

// recovered measures, from now, how long until commits move again (or
// everything is committed): the recovery time after a fault ended.
func (h *harness) recovered(timeout time.Duration) time.Duration {
	h.t.Helper()
	from := time.Now()
	base := int64(-1)
	for time.Since(from) < timeout {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := h.committed(ctx)
		cancel()
		if err == nil {
			if base < 0 {
				base = c
			}
			if c > base || c >= h.produced {
				d := time.Since(from)
				h.mu.Lock()
				h.recoveries = append(h.recoveries, d)
				h.mu.Unlock()
				return d
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("commits did not move for %s after the fault ended\n%s", timeout, h.tails())
	return 0
}

// fault is one scenario step's trigger: a random point in [lo, hi) of the
// produced records.
func (h *harness) between(lo, hi float64) float64 { return lo + h.rng.Float64()*(hi-lo) }

// result ends a scenario: it waits for every record to be committed, stops
// the live workers with SIGTERM, reads what the sandbox recorded and the
// dead-letter topic, runs the invariant check and the log scan, and
// returns the figures.
func (h *harness) result(timeout time.Duration) (figures, report) {
	h.t.Helper()
	h.waitCommitted(h.produced, timeout)
	elapsed := time.Since(h.started)
	h.mu.Lock()
	procs := append([]*proc(nil), h.procs...)
	h.mu.Unlock()
	for _, p := range procs {
		if !p.done {
			h.terminate(p)
		}
	}
	dead := kafkatest.ReadTopic(h.t, h.st.Broker, h.st.DLQTopic)
	h.mu.Lock()
	obs := observation{uploads: h.st.Sandbox.Records(), dead: dead, lifecycle: append([]time.Time(nil), h.lifecycle...)}
	rep := report{crashes: h.crashes, workers: len(h.procs), elapsed: elapsed}
	for _, d := range h.recoveries {
		rep.maxRecovery = max(rep.maxRecovery, d)
	}
	for _, d := range h.exits {
		rep.maxExit = max(rep.maxExit, d)
	}
	h.mu.Unlock()
	f, problems := check(h.want, obs)
	for _, p := range problems {
		h.t.Error(p)
	}
	h.scan()
	h.t.Logf("figures %s: %s %s", h.t.Name(), f, rep)
	return f, rep
}

// report holds a run's timings.
type report struct {
	crashes, workers     int
	elapsed              time.Duration
	maxRecovery, maxExit time.Duration
}

func (r report) String() string {
	return fmt.Sprintf("crashes=%d worker_processes=%d max_recovery=%s max_sigterm_exit=%s elapsed=%s",
		r.crashes, r.workers, r.maxRecovery.Round(10*time.Millisecond), r.maxExit.Round(10*time.Millisecond), r.elapsed.Round(100*time.Millisecond))
}

// scan checks every log line of every worker process of the scenario (and
// any extra output) for secrets, panics and data races.
func (h *harness) scan(extra ...[]byte) {
	h.t.Helper()
	key, err := os.ReadFile(h.st.Creds.MchPrivateKeyFile)
	if err != nil {
		h.t.Fatal(err)
	}
	s := secretsIn(key, h.events)
	if len(s.keyLines) == 0 || len(s.tokens) == 0 {
		h.t.Fatal("no secrets to scan for: the scan could not fail")
	}
	var lines int
	h.mu.Lock()
	procs := append([]*proc(nil), h.procs...)
	h.mu.Unlock()
	for _, p := range procs {
		b, err := os.ReadFile(p.log.Name())
		if err != nil {
			h.t.Fatal(err)
		}
		lines += bytes.Count(b, []byte("\n"))
		for _, problem := range scanLogs(filepath.Base(p.log.Name()), b, s) {
			h.t.Error(problem)
		}
	}
	for i, b := range extra {
		lines += bytes.Count(b, []byte("\n"))
		for _, problem := range scanLogs(fmt.Sprintf("output %d", i+1), b, s) {
			h.t.Error(problem)
		}
	}
	if lines == 0 {
		h.t.Error("the workers logged nothing: the secret scan saw no line")
	}
}

// tail returns the last lines of p's log for a failure message.
func (h *harness) tail(p *proc) string {
	b, err := os.ReadFile(p.log.Name())
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return fmt.Sprintf("worker %d log tail:\n%s", p.n, strings.Join(lines, "\n"))
}

func (h *harness) tails() string {
	h.mu.Lock()
	procs := append([]*proc(nil), h.procs...)
	h.mu.Unlock()
	var b strings.Builder
	for _, p := range procs {
		if !p.done {
			b.WriteString(h.tail(p) + "\n")
		}
	}
	return b.String()
}
