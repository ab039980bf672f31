package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/stack"
)

// Cases of the merchant registry (README "Serving many restaurants").
const (
	// caseQuotaShared: three worker instances share one account's quota
	// at the sandbox; the adaptive rate must keep goodput near the quota
	// with few 429s and nothing dead-lettered.
	caseQuotaShared = "quota-shared"
	// caseManyAccounts: the no-latency load over 1,000 sub-merchants and
	// 20 accounts, against the same load through one account.
	caseManyAccounts = "many-accounts"
)

var accountCases = []string{caseQuotaShared, caseManyAccounts}

// Targets of the registry cases.
const (
	quotaInstances     = 3
	minQuotaGoodput    = 0.90 // × the quota
	maxThrottledShare  = 0.10 // of all requests
	manyAccountsN      = 20
	manySubMerchants   = 1000
	minManyAccountsRel = 0.95 // × one account's events/s
)

// splitAccountCases separates the registry cases from the others.
func splitAccountCases(cases []string) (rest, acct []string) {
	for _, c := range cases {
		if c = strings.TrimSpace(c); slices.Contains(accountCases, c) {
			acct = append(acct, c)
		} else {
			rest = append(rest, c)
		}
	}
	return rest, acct
}

// accountResult is the outcome of one registry case.
type accountResult struct {
	Case string `json:"case"`
	// quota-shared
	Quota        float64       `json:"quota_per_second,omitempty"`
	Instances    int           `json:"instances,omitempty"`
	Goodput      float64       `json:"goodput_per_second,omitempty"`
	Requests     int64         `json:"requests,omitempty"`
	Throttled    int64         `json:"throttled_429,omitempty"`
	DeadLettered int           `json:"dead_lettered"`
	Window       time.Duration `json:"window_ns,omitempty"`
	Events       int           `json:"events"`
	OneAccount   float64       `json:"one_account_events_per_second,omitempty"`
	ManyAccounts float64       `json:"many_accounts_events_per_second,omitempty"`
	Accounts     int           `json:"accounts,omitempty"`
	SubMerchants int           `json:"sub_merchants,omitempty"`
}

func (r accountResult) line() string {
	switch r.Case {
	case caseQuotaShared:
		return fmt.Sprintf("%-14s %d instances, quota %.0f/s: goodput %.1f/s over %s, %d of %d requests answered 429 (%.1f %%), %d dead-lettered",
			r.Case, r.Instances, r.Quota, r.Goodput, r.Window.Round(100*time.Millisecond), r.Throttled, r.Requests,
			100*float64(r.Throttled)/float64(max(r.Requests, 1)), r.DeadLettered)
	default:
		return fmt.Sprintf("%-14s %d events over %d sub-merchants: one account %.0f events/s, %d accounts %.0f events/s (%.1f %%)",
			r.Case, r.Events, r.SubMerchants, r.OneAccount, r.Accounts, r.ManyAccounts, 100*r.ManyAccounts/r.OneAccount)
	}
}

func (r accountResult) verdicts() []verdict {
	switch r.Case {
	case caseQuotaShared:
		share := float64(r.Throttled) / float64(max(r.Requests, 1))
		return []verdict{
			{Target: fmt.Sprintf("%s: goodput ≥ %.2f × quota", r.Case, minQuotaGoodput),
				Got: fmt.Sprintf("%.1f vs %.1f", r.Goodput, minQuotaGoodput*r.Quota), Pass: r.Goodput >= minQuotaGoodput*r.Quota},
			{Target: fmt.Sprintf("%s: requests answered 429 ≤ %.0f %%", r.Case, 100*maxThrottledShare),
				Got: fmt.Sprintf("%.1f %%", 100*share), Pass: share <= maxThrottledShare},
			{Target: r.Case + ": nothing dead-lettered", Got: strconv.Itoa(r.DeadLettered), Pass: r.DeadLettered == 0},
		}
	default:
		return []verdict{{Target: fmt.Sprintf("%s: events/s ≥ %.2f × one account's", r.Case, minManyAccountsRel),
			Got:  fmt.Sprintf("%.0f vs %.0f", r.ManyAccounts, minManyAccountsRel*r.OneAccount),
			Pass: r.ManyAccounts >= minManyAccountsRel*r.OneAccount}}
	}
}

// runAccountCases runs the registry cases, prints a line and the verdicts
// of each, and reports whether a target was missed.
func runAccountCases(ctx context.Context, o options, cases []string, out, progress io.Writer) (missed bool, err error) {
	enc := json.NewEncoder(out)
	for _, c := range cases {
		var r accountResult
		switch c {
		case caseQuotaShared:
			r, err = runQuotaShared(ctx, o, progress)
		case caseManyAccounts:
			r, err = runManyAccounts(ctx, o, progress)
		}
		if err != nil {
			return missed, fmt.Errorf("%s: %w", c, err)
		}
		lines := []any{r}
		for _, v := range r.verdicts() {
			lines = append(lines, v)
			missed = missed || !v.Pass
		}
		for _, l := range lines {
			if o.json {
				err = enc.Encode(l)
			} else if s, ok := l.(interface{ line() string }); ok {
				_, err = fmt.Fprintln(out, s.line())
			}
			if err != nil {
				return missed, err
			}
		}
	}
	return missed, nil
}

// registryEnv is the worker environment of a registry file: the
// single-account settings of the stack emptied, which sets nothing.
func registryEnv(st *stack.Stack, path string, extra ...string) []string {
	return st.WorkerEnv(append([]string{"ORDERSYNC_MCHID=", "ORDERSYNC_MCH_CERT_SERIAL=", "ORDERSYNC_MCH_PRIVATE_KEY_FILE=",
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE=", "ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID=", "ORDERSYNC_SP_APPID=",
		"ORDERSYNC_MERCHANTS_FILE=" + path}, extra...)...)
}

// runQuotaShared: 3 instances of the single-account worker (no rate
// setting) against a sandbox quota of 150 requests/s; the events are
// produced once every instance has joined.
func runQuotaShared(ctx context.Context, o options, progress io.Writer) (accountResult, error) {
	const quota = 150.0
	r := accountResult{Case: caseQuotaShared, Quota: quota, Instances: quotaInstances, Events: o.quotaEvents}
	dir, err := os.MkdirTemp("", "ordersync-bench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	st, err := stack.Start(stack.Options{Dir: dir, Partitions: 6,
		Sandbox: sandbox.Config{ReuseSignatures: true, CountOnly: true, CheckEvery: o.checkEvery, Quota: quota}})
	if err != nil {
		return r, err
	}
	defer st.Close()
	workers, stop, err := startWorkers(o.worker, dir, quotaInstances, st.WorkerEnv())
	if err != nil {
		return r, err
	}
	defer stop()
	for _, w := range workers {
		if err := waitReady(ctx, w, time.Minute); err != nil {
			return r, err
		}
	}
	fmt.Fprintf(progress, "%s: %d instances ready, producing %d events…\n", r.Case, quotaInstances, o.quotaEvents)
	total, err := produce(ctx, st, spec{events: o.quotaEvents}, o.seed)
	if err != nil {
		return r, err
	}
	r.Events = total
	first, last, err := waitAccepted(ctx, st, total, caseTimeout(o.caseTimeout, total*10), progress, r.Case)
	if err != nil {
		return r, err
	}
	r.Window = last.at.Sub(first.at)
	r.Goodput = float64(last.n-first.n) / r.Window.Seconds()
	stats := st.Sandbox.Stats()
	r.Requests, r.Throttled = stats.Requests, stats.Throttled
	if err := stop(); err != nil {
		return r, err
	}
	dl, err := st.ReadTopic(ctx, st.DLQTopic)
	if err != nil {
		return r, err
	}
	r.DeadLettered = len(dl)
	return r, nil
}

// runManyAccounts delivers the same events on fresh stacks through one
// account that covers every sub-merchant and through 20 accounts with 50
// sub-merchants each, twice each.
func runManyAccounts(ctx context.Context, o options, progress io.Writer) (accountResult, error) {
	r := accountResult{Case: caseManyAccounts, Accounts: manyAccountsN, SubMerchants: manySubMerchants}
	keys, err := os.MkdirTemp("", "ordersync-bench-accounts-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(keys)
	fmt.Fprintf(progress, "%s: generating the keys of %d accounts…\n", r.Case, manyAccountsN-1)
	extra := make([]*sandbox.Credentials, manyAccountsN-1)
	for i := range extra {
		if extra[i], err = sandbox.GenerateAccount(filepath.Join(keys, strconv.Itoa(i)), strconv.Itoa(1230001000+i)); err != nil {
			return r, err
		}
	}
	// One, many, many, one: a machine whose load drifts during the case
	// weighs on both sides alike; each side is the mean of its two runs.
	for _, n := range []int{1, manyAccountsN, manyAccountsN, 1} {
		rate, events, err := runAccounts(ctx, o, extra[:n-1], progress)
		if err != nil {
			return r, err
		}
		r.Events = events
		if n == 1 {
			r.OneAccount += rate / 2
		} else {
			r.ManyAccounts += rate / 2
		}
	}
	return r, nil
}

// runAccounts measures the no-latency load with the stack's account plus
// extra ones, sub-merchants spread over them round robin.
func runAccounts(ctx context.Context, o options, extra []*sandbox.Credentials, progress io.Writer) (float64, int, error) {
	dir, err := os.MkdirTemp("", "ordersync-bench-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	accts := make([]sandbox.Account, len(extra))
	for i, c := range extra {
		accts[i] = sandbox.Account{Credentials: c}
	}
	st, err := stack.Start(stack.Options{Dir: dir, Partitions: 6,
		Sandbox: sandbox.Config{ReuseSignatures: true, CountOnly: true, CheckEvery: o.checkEvery, Accounts: accts}})
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	all := append([]*sandbox.Credentials{st.Creds}, extra...)
	path := filepath.Join(dir, "merchants.yaml")
	if err := os.WriteFile(path, registryDoc(all), 0o600); err != nil {
		return 0, 0, err
	}
	s := spec{name: fmt.Sprintf("%s/%d", caseManyAccounts, len(all)), partitions: 6, inFlight: o.inFlight, events: o.events}
	total, err := produceSpread(ctx, st, s, o.seed)
	if err != nil {
		return 0, 0, err
	}
	logs, err := os.Create(filepath.Join(dir, "worker.log"))
	if err != nil {
		return 0, 0, err
	}
	defer logs.Close()
	w, err := stack.StartWorker(o.worker, registryEnv(st, path, "ORDERSYNC_MAX_IN_FLIGHT="+strconv.Itoa(s.inFlight)), logs)
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(progress, "%s: %d events over %d accounts, worker pid %d running\n", s.name, total, len(all), w.Pid())
	res, err := measure(ctx, st, w, s, total, caseTimeout(o.caseTimeout, total), progress)
	if err != nil {
		w.Kill()
		return 0, 0, fmt.Errorf("%s: %w (worker log %s)", s.name, err, tail(logs.Name()))
	}
	if err := w.Signal(syscall.SIGTERM); err != nil {
		return 0, 0, err
	}
	if code, err := w.Wait(30 * time.Second); err != nil || code != 0 {
		return 0, 0, fmt.Errorf("%s: worker stopped with status %d: %v", s.name, code, err)
	}
	return res.PerSecond, total, nil
}

// subMerchant is the i-th of the case's sub-merchants.
func subMerchant(i int) string { return strconv.Itoa(1900100000 + i%manySubMerchants) }

// registryDoc files the case's sub-merchants round robin under accounts
// (service-provider mode, each its own keys).
func registryDoc(accounts []*sandbox.Credentials) []byte {
	var b bytes.Buffer
	b.WriteString("accounts:\n")
	for i, c := range accounts {
		fmt.Fprintf(&b, "  acct-%02d:\n    mode: service_provider\n    mchid: %q\n    cert_serial: %s\n    private_key_file: %s\n"+
			"    wechatpay_public_key_file: %s\n    wechatpay_public_key_id: %s\n    sp_appid: wx1234567890abcdef\n",
			i, c.MchID, c.MchCertSerial, c.MchPrivateKeyFile, c.WechatPayPublicKeyFile, c.WechatPayPublicKeyID)
	}
	b.WriteString("merchants:\n")
	for i := range manySubMerchants {
		fmt.Fprintf(&b, "  %q: acct-%02d\n", subMerchant(i), i%len(accounts))
	}
	return b.Bytes()
}

// produceSpread is produce with each order's sub-merchant one of the
// case's 1,000, by order.
func produceSpread(ctx context.Context, st *stack.Stack, s spec, seed uint64) (int, error) {
	evs := uploads(sample.Generate(sample.Options{Seed: seed, Orders: int(float64(s.events)/uploadsPerOrder) + 10,
		Interleave: true, Start: time.Now().AddDate(0, 0, -60)}))
	if len(evs) > s.events {
		evs = evs[:s.events]
	}
	from := []byte(`"sub_mchid":"` + sample.SubMchID + `"`)
	orders := map[string]int{}
	for i, e := range evs {
		n, ok := orders[e.OrderNo]
		if !ok {
			n = len(orders)
			orders[e.OrderNo] = n
		}
		evs[i].Value = bytes.Replace(e.Value, from, []byte(`"sub_mchid":"`+subMerchant(n)+`"`), 1)
	}
	return len(evs), st.Produce(ctx, evs)
}

// startWorkers starts n worker instances; stop ends them with SIGTERM and
// reports a bad exit.
func startWorkers(binary, dir string, n int, env []string) ([]*stack.Worker, func() error, error) {
	var ws []*stack.Worker
	var logs []*os.File
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		var errs []error
		for _, w := range ws {
			_ = w.Signal(syscall.SIGTERM)
		}
		for i, w := range ws {
			if code, err := w.Wait(30 * time.Second); err != nil || code != 0 {
				errs = append(errs, fmt.Errorf("worker %d stopped with status %d: %v (log %s)", i, code, err, tail(logs[i].Name())))
			}
		}
		for _, l := range logs {
			_ = l.Close()
		}
		return errors.Join(errs...)
	}
	for i := range n {
		l, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.log", i)))
		if err != nil {
			_ = stop()
			return nil, nil, err
		}
		logs = append(logs, l)
		w, err := stack.StartWorker(binary, env, l)
		if err != nil {
			_ = stop()
			return nil, nil, err
		}
		ws = append(ws, w)
	}
	return ws, stop, nil
}

// waitReady polls the worker's /readyz until it answers 200.
func waitReady(ctx context.Context, w *stack.Worker, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if code, _, err := w.Get(ctx, "/readyz"); err == nil && code == 200 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("worker pid %d not ready after %s", w.Pid(), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.Exited():
			return fmt.Errorf("worker pid %d exited", w.Pid())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type acceptedAt struct {
	at time.Time
	n  int64
}

// waitAccepted polls the sandbox until total uploads are accepted and
// returns the first poll that saw one and the last.
func waitAccepted(ctx context.Context, st *stack.Stack, total int, timeout time.Duration, progress io.Writer, name string) (first, last acceptedAt, err error) {
	deadline := time.Now().Add(timeout)
	lastReport := time.Now()
	for {
		n := st.Sandbox.Count()
		now := time.Now()
		if n > 0 && first.n == 0 {
			first = acceptedAt{at: now, n: n}
		}
		if n >= int64(total) {
			return first, acceptedAt{at: now, n: n}, nil
		}
		if now.After(deadline) {
			return first, last, fmt.Errorf("only %d of %d events delivered after %s", n, total, timeout)
		}
		if now.Sub(lastReport) >= 10*time.Second {
			fmt.Fprintf(progress, "%s: %d/%d delivered\n", name, n, total)
			lastReport = now
		}
		select {
		case <-ctx.Done():
			return first, last, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}
