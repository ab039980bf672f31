package uploader_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/uploader"
)

// observer records what the Uploader reports.
type observer struct {
	mu       sync.Mutex
	attempts map[string]int
	paused   []bool
	reasons  []string
	signs    []time.Duration
}

func newObserver() *observer { return &observer{attempts: map[string]int{}} }

func (o *observer) UploadAttempt(result string, _ int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts[result]++
}

func (o *observer) Paused(p bool, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.paused = append(o.paused, p)
	o.reasons = append(o.reasons, reason)
}

func (o *observer) SignCPU(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.signs = append(o.signs, d)
}

func (o *observer) signCPU() []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.signs)
}

func (o *observer) snapshot() (map[string]int, []bool, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	a := map[string]int{}
	for k, v := range o.attempts {
		a[k] = v
	}
	return a, append([]bool(nil), o.paused...), append([]string(nil), o.reasons...)
}

var _ uploader.Observer = (*observer)(nil)

// assertNoSecrets fails when an outcome's error carries key material, the
// body's login_token or the Authorization header.
func assertNoSecrets(t *testing.T, out uploader.Outcome) {
	t.Helper()
	if out.Err == nil {
		return
	}
	msg := out.Err.Error() + " " + out.Message
	pemText, err := os.ReadFile(creds.MchPrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	keyLine := strings.Split(string(pemText), "\n")[3] // a line of the key's base64 body
	for _, secret := range []string{keyLine, loginToken, "PRIVATE KEY", "WECHATPAY2-SHA256-RSA2048", "signature=\"", "login_token"} {
		if strings.Contains(msg, secret) {
			t.Errorf("outcome error leaks %q: %s", secret, msg)
		}
	}
}

func TestUploadDelivered(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	certCfg := e.config()
	certCfg.WechatPayPublicKey, certCfg.WechatPayPublicKeyID = nil, ""
	certCfg.WechatPayCert = creds.PlatformCert
	tests := []struct {
		name string
		give uploader.Config
	}{
		{name: "public key mode", give: e.config()},
		{name: "platform certificate mode", give: certCfg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUploader(t, tt.give)
			order := "order-" + tt.name
			out := u.Upload(context.Background(), orderBody(order))
			if out.Class != uploader.Delivered || out.Attempts != 1 || out.HTTPStatus != 204 || out.Err != nil {
				t.Fatalf("outcome = %+v, want delivered in 1 attempt", out)
			}
			if out.RequestID == "" {
				t.Error("no request id")
			}
			if got := e.sb.OrderRecords(order); len(got) != 1 || got[0].Status != "PAY_SUCCESS" {
				t.Errorf("sandbox records = %+v", got)
			}
		})
	}
}

// TestClassification drives every answer class through the real SDK.
func TestClassification(t *testing.T) {
	badBody := []byte(strings.Replace(string(orderBody("bad-unit")), `"BY_SHARE"`, `"BY_BOX"`, 1))
	tests := []struct {
		name         string
		giveFaults   sandbox.Faults
		giveBody     []byte
		givePath     string // appended to the base URL
		wantClass    uploader.Class
		wantStatus   int
		wantCode     string
		wantField    string
		wantErr      error
		wantAccepted bool // the sandbox recorded the upload (server acted)
		wantResult   string
	}{
		{name: "400 param error", giveBody: badBody, wantClass: uploader.Rejected,
			wantStatus: 400, wantCode: "PARAM_ERROR", wantField: "/dish_list/0/unit", wantResult: "rejected"},
		{name: "400 invalid request per order",
			giveFaults: sandbox.Faults{Rejections: []sandbox.Rejection{{OrderNo: "o"}}},
			wantClass:  uploader.Rejected, wantStatus: 400, wantCode: "INVALID_REQUEST", wantResult: "rejected"},
		{name: "403 no auth per merchant",
			giveFaults: sandbox.Faults{Rejections: []sandbox.Rejection{{SubMchID: "1900000100", Status: 403, Code: "NO_AUTH"}}},
			wantClass:  uploader.Rejected, wantStatus: 403, wantCode: "NO_AUTH", wantResult: "rejected"},
		{name: "500 system error", giveFaults: sandbox.Faults{ServerErrorRate: 1},
			wantClass: uploader.RetriesExhausted, wantStatus: 500, wantCode: "SYSTEM_ERROR", wantResult: "transient"},
		{name: "503 outage", giveFaults: sandbox.Faults{Outage: &sandbox.Outage{Mode: sandbox.OutageUnavailable}},
			wantClass: uploader.RetriesExhausted, wantStatus: 503, wantCode: "SERVICE_UNAVAILABLE", wantResult: "transient"},
		{name: "connection dropped", giveFaults: sandbox.Faults{Outage: &sandbox.Outage{Mode: sandbox.OutageDrop}},
			wantClass: uploader.RetriesExhausted, wantResult: "transient"},
		{name: "202 not processed", giveFaults: sandbox.Faults{AcceptedRate: 1},
			wantClass: uploader.RetriesExhausted, wantStatus: 202, wantErr: uploader.ErrNotProcessed, wantResult: "transient"},
		{name: "404 without an error code: base URL with a path", givePath: "/v3",
			wantClass: uploader.RetriesExhausted, wantStatus: 404, wantErr: uploader.ErrNoCode, wantResult: "transient"},
		{name: "timeout", giveFaults: sandbox.Faults{TimeoutRate: 1},
			wantClass: uploader.RetriesExhausted, wantResult: "transient"},
		{name: "response signed with wrong key", giveFaults: sandbox.Faults{BadSignature: sandbox.BadSignatureWrongKey},
			wantClass: uploader.RetriesExhausted, wantStatus: 204, wantErr: uploader.ErrUnverified, wantAccepted: true, wantResult: "transient"},
		{name: "SIGNTEST response signature", giveFaults: sandbox.Faults{BadSignature: sandbox.BadSignatureSignTest},
			wantClass: uploader.RetriesExhausted, wantStatus: 204, wantErr: uploader.ErrUnverified, wantAccepted: true, wantResult: "transient"},
		// A response timestamp out of range is a deployment fault that
		// pauses: TestSkewedResponseTimestampIsClockFault.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sandbox.Config{})
			if err := e.sb.SetFaults(tt.giveFaults); err != nil {
				t.Fatal(err)
			}
			obs := newObserver()
			cfg := e.config()
			cfg.Observer = obs
			cfg.BaseURL += tt.givePath
			if tt.giveFaults.TimeoutRate > 0 {
				cfg.RequestTimeout = 50 * time.Millisecond
			}
			cfg.BreakerThreshold = -1 // these are per-upload classifications
			u := newUploader(t, cfg)
			body := tt.giveBody
			if body == nil {
				body = orderBody("o")
			}
			out := u.Upload(context.Background(), body)
			assertNoSecrets(t, out)
			if out.Class != tt.wantClass || out.HTTPStatus != tt.wantStatus || out.Code != tt.wantCode || out.Field != tt.wantField {
				t.Fatalf("outcome = %+v (err %v), want class %v status %d code %q field %q",
					out, out.Err, tt.wantClass, tt.wantStatus, tt.wantCode, tt.wantField)
			}
			if tt.wantErr != nil && !errors.Is(out.Err, tt.wantErr) {
				t.Errorf("err = %v, want %v", out.Err, tt.wantErr)
			}
			if tt.wantClass == uploader.Rejected && out.Attempts != 1 {
				t.Errorf("rejected after %d attempts, want 1", out.Attempts)
			}
			// How many attempts fit in MaxElapsed depends on the machine (one
			// signed attempt under the race detector on a busy core can take
			// it all); that each was retryable is the "transient" result below.
			if tt.wantClass == uploader.RetriesExhausted && (out.Attempts < 1 || !errors.Is(out.Err, uploader.ErrRetriesExhausted)) {
				t.Errorf("exhausted after %d attempts, err %v; want ErrRetriesExhausted", out.Attempts, out.Err)
			}
			if tt.wantStatus != 0 && tt.wantStatus != 204 && tt.givePath == "" && out.RequestID == "" {
				t.Error("no request id from the answer")
			}
			if got := e.sb.Count() > 0; got != tt.wantAccepted {
				t.Errorf("sandbox accepted = %v, want %v", got, tt.wantAccepted)
			}
			attempts, _, _ := obs.snapshot()
			if attempts[tt.wantResult] != out.Attempts {
				t.Errorf("observer attempts = %v, want %d %s", attempts, out.Attempts, tt.wantResult)
			}
			// Every attempt is signed once, and the signature's CPU time is
			// that of an RSA-2048 private-key operation: well above 10 µs.
			if signs := obs.signCPU(); runtime.GOOS == "linux" && (len(signs) != out.Attempts || len(signs) > 0 && slices.Min(signs) < 10*time.Microsecond) {
				t.Errorf("signature CPU times %v for %d attempts", signs, out.Attempts)
			}
			if p, _ := u.Paused(); p {
				t.Error("paused after per-upload failures")
			}
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{ServerErrorRate: 1, Times: 2}); err != nil {
		t.Fatal(err)
	}
	u := newUploader(t, e.config())
	out := u.Upload(context.Background(), orderBody("retry"))
	if out.Class != uploader.Delivered || out.Attempts != 3 || out.HTTPStatus != 204 || out.Code != "" || out.Err != nil {
		t.Fatalf("outcome = %+v, want delivered on the 3rd attempt", out)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{RateLimitRate: 1, RetryAfter: sandbox.Duration(time.Second), Times: 1}); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Retry = uploader.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 3 * time.Second, MaxElapsed: 10 * time.Second}
	u := newUploader(t, cfg)
	start := time.Now()
	out := u.Upload(context.Background(), orderBody("retry-after"))
	if out.Class != uploader.Delivered || out.Attempts != 2 {
		t.Fatalf("outcome = %+v, want delivered on the 2nd attempt", out)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("second attempt after %v, want ≥ Retry-After 1s", d)
	}
}

// TestThrottledNeverPausesNorExhausts: 429s are the API asking to slow
// down — they neither open the breaker nor spend the retry budget.
func TestThrottledNeverPausesNorExhausts(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{RateLimitRate: 1, Times: 6}); err != nil {
		t.Fatal(err)
	}
	obs := newObserver()
	cfg := e.config()
	cfg.Observer = obs
	cfg.BreakerThreshold = 2
	cfg.Retry = uploader.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: 30 * time.Millisecond}
	u := newUploader(t, cfg)
	out := u.Upload(context.Background(), orderBody("throttled"))
	if out.Class != uploader.Delivered || out.Attempts != 7 {
		t.Fatalf("outcome = %+v, want delivered on the 7th attempt after six 429s", out)
	}
	if _, changes, _ := obs.snapshot(); len(changes) != 0 {
		t.Errorf("pause changes %v, want none: a 429 never pauses", changes)
	}
}

func TestMaxElapsedRespected(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{ServerErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.BreakerThreshold = -1
	cfg.Retry = uploader.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 40 * time.Millisecond, MaxElapsed: 200 * time.Millisecond}
	u := newUploader(t, cfg)
	// An upload that ignored its budget would retry until ctx ends: cancelled,
	// not exhausted. However slow the machine, each wait is at least half
	// the initial interval, so the budget holds at most 200/5 waits.
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.WaitBound)
	defer cancel()
	out := u.Upload(ctx, orderBody("budget"))
	if out.Class != uploader.RetriesExhausted || out.Attempts < 3 || out.Attempts > 41 {
		t.Fatalf("outcome = %+v, want retries exhausted after 3 to 41 attempts", out)
	}
	if got := e.sb.Stats().Requests; got != int64(out.Attempts) {
		t.Errorf("sandbox saw %d requests, outcome reports %d attempts", got, out.Attempts)
	}
}

func TestCancelMidBackoffReturnsPromptly(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{ServerErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Retry = uploader.RetryPolicy{InitialInterval: time.Hour, MaxInterval: 2 * time.Hour, MaxElapsed: 24 * time.Hour}
	obs := newObserver()
	cfg.Observer = obs
	u := newUploader(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan uploader.Outcome, 1)
	go func() { done <- u.Upload(ctx, orderBody("cancel")) }()
	kafkatest.WaitFor(t, "the first attempt failed, the upload in its backoff", func() bool { a, _, _ := obs.snapshot(); return a["transient"] == 1 })
	cancel()
	select {
	case out := <-done:
		if out.Class != uploader.Cancelled || out.Attempts != 1 || !errors.Is(out.Err, context.Canceled) {
			t.Fatalf("outcome = %+v, want cancelled after 1 attempt", out)
		}
		if out.HTTPStatus != 500 {
			t.Errorf("status = %d, want the last answer's 500", out.HTTPStatus)
		}
	case <-time.After(kafkatest.WaitBound):
		t.Fatal("Upload did not return after cancel (the backoff is at least 30 min)")
	}
}

func TestCancelledBeforeStartMakesNoAttempt(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	u := newUploader(t, e.config())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := u.Upload(ctx, orderBody("never"))
	if out.Class != uploader.Cancelled || e.sb.Stats().Requests != 0 {
		t.Fatalf("outcome = %+v, sandbox requests %d; want cancelled, nothing sent", out, e.sb.Stats().Requests)
	}
}

func TestEmptyBodyRejectedWithoutSending(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	u := newUploader(t, e.config())
	out := u.Upload(context.Background(), nil)
	if out.Class != uploader.Rejected || !errors.Is(out.Err, uploader.ErrEmptyBody) || out.Attempts != 0 {
		t.Fatalf("outcome = %+v", out)
	}
}

func TestWrongMerchantKeyPausesDelivery(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	obs := newObserver()
	cfg := e.config()
	cfg.MchPrivateKey = creds.WechatPayPrivateKey // a valid RSA key, but not the merchant's
	cfg.Observer = obs
	u := newUploader(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	out := u.Upload(ctx, orderBody("wrong-key"))
	assertNoSecrets(t, out)
	// A deployment fault is never reported as the event's failure: the
	// upload waits, paused, until shutdown.
	if out.Class != uploader.Cancelled || out.HTTPStatus != 401 || out.Code != "SIGN_ERROR" {
		t.Fatalf("outcome = %+v, want cancelled while paused on 401 SIGN_ERROR", out)
	}
	paused, reason := u.Paused()
	if !paused || !strings.Contains(reason, "SIGN_ERROR") {
		t.Errorf("Paused() = %v, %q; want paused naming SIGN_ERROR", paused, reason)
	}
	attempts, changes, _ := obs.snapshot()
	if len(changes) != 1 || !changes[0] || attempts["sign_error"] < 2 {
		t.Errorf("observer: attempts %v, pause changes %v; want one pause and probes", attempts, changes)
	}
	if e.sb.Stats().SignErrors == 0 || e.sb.Count() != 0 {
		t.Errorf("sandbox stats %+v", e.sb.Stats())
	}
}

func TestSignErrorRecoveryClosesBreaker(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{
		Rejections: []sandbox.Rejection{{Status: 401, Code: "SIGN_ERROR", Message: "签名错误"}},
		Times:      3,
	}); err != nil {
		t.Fatal(err)
	}
	obs := newObserver()
	cfg := e.config()
	cfg.Observer = obs
	cfg.Retry.MaxElapsed = 50 * time.Millisecond // paused time is not charged
	u := newUploader(t, cfg)
	var wg sync.WaitGroup
	outs := make([]uploader.Outcome, 8)
	for i := range outs {
		wg.Go(func() { outs[i] = u.Upload(context.Background(), orderBody(orderNo(i))) })
	}
	wg.Wait()
	for i, out := range outs {
		if out.Class != uploader.Delivered {
			t.Errorf("upload %d: %+v", i, out)
		}
	}
	if p, r := u.Paused(); p {
		t.Errorf("still paused: %s", r)
	}
	_, changes, _ := obs.snapshot()
	if len(changes) < 2 || !changes[0] || changes[len(changes)-1] {
		t.Errorf("pause changes = %v, want paused then resumed", changes)
	}
}

// TestOutageEndsWithEverythingDelivered simulates a long outage, short: the
// outage lasts many times MaxElapsed, yet nothing is exhausted.
func TestOutageEndsWithEverythingDelivered(t *testing.T) {
	for _, mode := range []string{sandbox.OutageUnavailable, sandbox.OutageDrop} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, sandbox.Config{})
			if err := e.sb.SetFaults(sandbox.Faults{Outage: &sandbox.Outage{Mode: mode, Duration: sandbox.Duration(1500 * time.Millisecond)}}); err != nil {
				t.Fatal(err)
			}
			obs := newObserver()
			cfg := e.config()
			cfg.Observer = obs
			cfg.Retry = uploader.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: 500 * time.Millisecond}
			u := newUploader(t, cfg)
			const n = 20
			outs := make([]uploader.Outcome, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { outs[i] = u.Upload(context.Background(), orderBody(orderNo(i))) })
			}
			wg.Wait()
			for i, out := range outs {
				if out.Class != uploader.Delivered {
					t.Errorf("upload %d: %v after %d attempts: %v", i, out.Class, out.Attempts, out.Err)
				}
			}
			if got := e.sb.Count(); got != n {
				t.Errorf("sandbox accepted %d, want %d", got, n)
			}
			// Without the breaker 20 uploads retrying every ≤20ms for 1.5s
			// would send well over 1,000 requests; paused, a few probes go out.
			t.Logf("sandbox saw %d requests", e.sb.Stats().Requests)
			if got := e.sb.Stats().Requests; got > 300 {
				t.Errorf("sandbox saw %d requests during the outage: breaker did not hold uploads", got)
			}
			_, changes, reasons := obs.snapshot()
			if len(changes) != 2 || !changes[0] || changes[1] || !strings.Contains(reasons[0], "consecutive transient") {
				t.Errorf("pause changes = %v %q, want one pause and one resume", changes, reasons)
			}
		})
	}
}

// TestBudgetSpentWithoutAnySuccessPauses: uploads of three events whose
// budgets run out before the breaker's threshold, while no attempt of any
// upload succeeded, pause delivery instead of being reported exhausted.
func TestBudgetSpentWithoutAnySuccessPauses(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{ServerErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.BreakerThreshold = 100
	cfg.Retry = uploader.RetryPolicy{InitialInterval: 20 * time.Millisecond, MaxInterval: 40 * time.Millisecond, MaxElapsed: 300 * time.Millisecond}
	u := newUploader(t, cfg)
	done := make(chan uploader.Outcome, 3)
	for i := range 3 {
		go func() { done <- u.Upload(context.Background(), orderBody(fmt.Sprintf("lone-%d", i))) }()
	}
	kafkatest.WaitFor(t, "the uploader paused", func() bool { p, _ := u.Paused(); return p })
	if _, reason := u.Paused(); !strings.Contains(reason, "no attempt succeeded") {
		t.Errorf("reason %q", reason)
	}
	e.sb.ClearFaults()
	for range 3 {
		select {
		case out := <-done:
			if out.Class != uploader.Delivered {
				t.Fatalf("outcome %+v, want delivered once the upstream is back", out)
			}
		case <-time.After(kafkatest.WaitBound):
			t.Fatal("upload not released after recovery")
		}
	}
	if p, _ := u.Paused(); p {
		t.Error("still paused")
	}
}

// TestWrongBaseURLPausesInsteadOfRejecting points the uploader at a path the
// API does not serve: the empty 404 is no verdict on the events, so nothing
// is rejected — delivery pauses, as in an outage, until the uploads are
// cancelled.
func TestWrongBaseURLPausesInsteadOfRejecting(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	cfg := e.config()
	cfg.BaseURL += "/v3"
	u := newUploader(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	const n = 8
	outs := make([]uploader.Outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { outs[i] = u.Upload(ctx, orderBody(orderNo(i))) })
	}
	kafkatest.WaitFor(t, "the uploader paused", func() bool { p, _ := u.Paused(); return p })
	cancel()
	wg.Wait()
	for i, out := range outs {
		if out.Class != uploader.Cancelled {
			t.Errorf("upload %d: %v (%v), want cancelled while paused", i, out.Class, out.Err)
		}
	}
}

// TestFlakyOrderExhaustsItsOwnBudget: one order failing while others are
// delivered does not pause the uploader and still exhausts.
func TestFlakyOrderExhaustsItsOwnBudget(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{Rejections: []sandbox.Rejection{{OrderNo: "flaky", Status: 500, Code: "SYSTEM_ERROR"}}}); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Retry = uploader.RetryPolicy{InitialInterval: 20 * time.Millisecond, MaxInterval: 40 * time.Millisecond, MaxElapsed: 300 * time.Millisecond}
	u := newUploader(t, cfg)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	healthy := make(chan uploader.Outcome, 1000)
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			healthy <- u.Upload(ctx, orderBody(orderNo(i)))
			time.Sleep(2 * time.Millisecond) // pacing of healthy traffic, not synchronisation
		}
	})
	out := u.Upload(context.Background(), orderBody("flaky"))
	stop()
	wg.Wait()
	close(healthy)
	if out.Class != uploader.RetriesExhausted || out.HTTPStatus != 500 {
		t.Fatalf("flaky outcome = %+v, want retries exhausted", out)
	}
	for h := range healthy {
		if h.Class != uploader.Delivered && h.Class != uploader.Cancelled {
			t.Errorf("healthy upload: %+v", h)
		}
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	cfg := e.config()
	cfg.RateLimit = 20 // burst 2
	u := newUploader(t, cfg)
	start := time.Now()
	for i := range 8 {
		if out := u.Upload(context.Background(), orderBody(orderNo(i))); out.Class != uploader.Delivered {
			t.Fatalf("outcome %+v", out)
		}
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("8 uploads at 20/s (burst 2) took %v, want ≥ 300ms", d)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	tests := []struct {
		name string
		give func(*uploader.Config)
	}{
		{"no base url", func(c *uploader.Config) { c.BaseURL = "" }},
		{"base url without scheme", func(c *uploader.Config) { c.BaseURL = "api.mch.weixin.qq.com" }},
		{"no mchid", func(c *uploader.Config) { c.MchID = "" }},
		{"no serial", func(c *uploader.Config) { c.MchCertSerial = "" }},
		{"no private key", func(c *uploader.Config) { c.MchPrivateKey = nil }},
		{"no verifier", func(c *uploader.Config) { c.WechatPayPublicKey = nil }},
		{"public key without id", func(c *uploader.Config) { c.WechatPayPublicKeyID = "" }},
		{"both verifiers", func(c *uploader.Config) { c.WechatPayCert = creds.PlatformCert }},
		{"negative rate", func(c *uploader.Config) { c.RateLimit = -1 }},
		{"negative timeout", func(c *uploader.Config) { c.RequestTimeout = -1 }},
		{"max below initial", func(c *uploader.Config) { c.Retry.MaxInterval = time.Microsecond }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.config()
			tt.give(&cfg)
			if _, err := uploader.New(cfg); !errors.Is(err, uploader.ErrInvalidConfig) {
				t.Errorf("New err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestClassString(t *testing.T) {
	tests := []struct {
		give uploader.Class
		want string
	}{
		{uploader.Delivered, "delivered"},
		{uploader.Rejected, "rejected"},
		{uploader.RetriesExhausted, "retries_exhausted"},
		{uploader.Cancelled, "cancelled"},
	}
	for _, tt := range tests {
		if got := tt.give.String(); got != tt.want {
			t.Errorf("%d.String() = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func orderNo(i int) string { return fmt.Sprintf("order-%06d", i) }

// TestRedirectNotFollowed puts a proxy that answers 307 to another host in
// front of the API: the body, login_token included, never reaches that host,
// and the answer is retried as transient, not delivered or rejected.
func TestRedirectNotFollowed(t *testing.T) {
	var leaked atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer elsewhere.Close()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer proxy.Close()
	e := newEnv(t, sandbox.Config{})
	cfg := e.config()
	cfg.BaseURL = proxy.URL
	cfg.BreakerThreshold = -1
	u := newUploader(t, cfg)
	out := u.Upload(context.Background(), orderBody("o"))
	if out.Class != uploader.RetriesExhausted || out.HTTPStatus != http.StatusTemporaryRedirect {
		t.Errorf("outcome %+v (%v), want retries exhausted on 307", out, out.Err)
	}
	if n := leaked.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
}

// TestYieldWhilePausedReturnsInsteadOfWaiting: with YieldWhilePaused an
// open breaker answers Paused at once, nothing sent; WaitProbe returns when
// the probe is due and the next Upload is the probe.
func TestYieldWhilePausedReturnsInsteadOfWaiting(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{ServerErrorRate: 1, Times: 2}); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.BreakerThreshold = 1
	cfg.YieldWhilePaused = true
	u := newUploader(t, cfg)
	out := u.Upload(context.Background(), orderBody("yield"))
	if out.Class != uploader.Paused || out.Attempts != 1 || out.HTTPStatus != 500 || !errors.Is(out.Err, uploader.ErrPaused) {
		t.Fatalf("first upload = %+v, want paused after its one attempt", out)
	}
	before := e.sb.Stats().Requests
	if out := u.Upload(context.Background(), orderBody("yield-2")); out.Class != uploader.Paused || out.Attempts != 0 {
		t.Fatalf("upload while paused = %+v, want paused with nothing sent", out)
	}
	if got := e.sb.Stats().Requests; got != before {
		t.Fatalf("a paused upload sent %d requests", got-before)
	}
	for range 3 {
		if err := u.WaitProbe(context.Background()); err != nil {
			t.Fatal(err)
		}
		if out = u.Upload(context.Background(), orderBody("yield")); out.Class != uploader.Paused {
			break
		}
	}
	if out.Class != uploader.Delivered {
		t.Fatalf("after the faults: %+v, want delivered", out)
	}
	if paused, _ := u.Paused(); paused {
		t.Error("still paused after a delivery")
	}
}
