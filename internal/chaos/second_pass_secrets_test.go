package chaos

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/kafkatest"
)

// Scenarios of finding 10 of the reliability second pass (docs/reliability.md):
// an API answer that echoes the request must not put the event's login token
// or openid into a log line or a dead-letter header, and the secret settings
// are checked at start.

// lagsecEchoPrefix starts every message the echoing proxy writes, so the
// scenario can tell its echoes reached the logs and the dead letters.
const lagsecEchoPrefix = "lagsec-echo: "

// lagsecEchoProxy stands in front of the sandbox and answers some uploads
// itself, with an error whose message echoes the whole request body (as
// some gateways and API errors do): the uploads of the rejected
// sub-merchant get 403 NO_AUTH (the worker dead-letters them), and the
// first attempt of every fourth other body 500 SYSTEM_ERROR or, as a proxy
// in the way would, 502 with a plain-text page (the worker retries both).
// Everything else goes to the sandbox.
type lagsecEchoProxy struct {
	srv *httptest.Server

	mu      sync.Mutex
	bodies  map[[32]byte]bool // bodies seen
	echoed  map[int]int       // status → echoing answers given
	answers int
}

func lagsecStartEchoProxy(h *harness) *lagsecEchoProxy {
	h.t.Helper()
	target, err := url.Parse(h.st.URL)
	if err != nil {
		h.t.Fatal(err)
	}
	p := &lagsecEchoProxy{bodies: map[[32]byte]bool{}, echoed: map[int]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read the request", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		status := p.decide(body)
		switch status {
		case 0:
			rp.ServeHTTP(w, r)
		case http.StatusBadGateway:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(status)
			_, _ = fmt.Fprintf(w, "%sbad gateway for request %s", lagsecEchoPrefix, body)
		default:
			code := map[int]string{http.StatusForbidden: "NO_AUTH", http.StatusInternalServerError: "SYSTEM_ERROR"}[status]
			msg, _ := json.Marshal(map[string]string{"code": code, "message": lagsecEchoPrefix + "cannot process " + string(body)})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(msg)
		}
	}))
	h.t.Cleanup(p.srv.Close)
	return p
}

// decide returns the status to answer body with, 0 to pass it on.
func (p *lagsecEchoProxy) decide(body []byte) int {
	var b struct {
		SubMchID string `json:"sub_mchid"`
	}
	_ = json.Unmarshal(body, &b)
	p.mu.Lock()
	defer p.mu.Unlock()
	status := 0
	sum := sha256.Sum256(body)
	switch {
	case b.SubMchID == rejectedSubMchID:
		status = http.StatusForbidden
	case !p.bodies[sum]:
		p.bodies[sum] = true
		if p.answers++; p.answers%4 == 0 {
			status = http.StatusInternalServerError
			if p.answers%8 == 0 {
				status = http.StatusBadGateway
			}
		}
	}
	if status != 0 {
		p.echoed[status]++
	}
	return status
}

func (p *lagsecEchoProxy) counts() map[int]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int]int{}
	for k, v := range p.echoed {
		out[k] = v
	}
	return out
}

// lagsecEventSecrets returns every login token and openid the events carry,
// whatever their format (login_token or token; openid or sub_openid).
func lagsecEventSecrets(h *harness) map[string]string {
	out := map[string]string{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				s, ok := x.(string)
				switch {
				case ok && len(s) >= 8 && (k == "login_token" || k == "token"):
					out[s] = "a login token"
				case ok && len(s) >= 8 && (k == "openid" || k == "sub_openid"):
					out[s] = "an openid"
				default:
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, ev := range h.events {
		var v any
		if json.Unmarshal(ev.Value, &v) == nil {
			walk(v)
		}
	}
	return out
}

// lagsecLeaks returns a problem for each line of text that carries one of
// secrets, naming the kind and the line, never the value.
func lagsecLeaks(name string, text []byte, secrets map[string]string) []string {
	var out []string
	for i, line := range bytes.Split(text, []byte("\n")) {
		for s, kind := range secrets {
			if bytes.Contains(line, []byte(s)) {
				out = append(out, fmt.Sprintf("%s line %d carries %s", name, i+1, kind))
				break
			}
		}
	}
	return out
}

// lagsecEchoedSecrets runs one worker against the echoing proxy: every event
// is delivered or dead-lettered as the invariant says, the echoes reached the
// logs and the dead-letter headers (their prefix is there), and no login
// token or openid of any event is in any worker log line or any header of
// any dead letter.
func lagsecEchoedSecrets(t *testing.T, orders int, timeout time.Duration) {
	h := newHarness(t, options{sample: mixed(45, orders)})
	proxy := lagsecStartEchoProxy(h)
	secrets := lagsecEventSecrets(h)
	if len(secrets) < orders {
		t.Fatalf("only %d login tokens and openids in %d orders' events: the scan could not fail", len(secrets), orders)
	}
	p := h.start("ORDERSYNC_WECHATPAY_BASE_URL=" + proxy.srv.URL)
	h.waitCommitted(h.produced, timeout)
	echoes := proxy.counts()
	f, _ := h.result(timeout)

	var problems []string
	echoLines := 0
	h.mu.Lock()
	procs := append([]*proc(nil), h.procs...)
	h.mu.Unlock()
	for _, pr := range procs {
		b, err := os.ReadFile(pr.log.Name())
		if err != nil {
			t.Fatal(err)
		}
		echoLines += bytes.Count(b, []byte(lagsecEchoPrefix))
		problems = append(problems, lagsecLeaks(filepath.Base(pr.log.Name()), b, secrets)...)
	}
	dead := kafkatest.ReadTopic(t, h.st.Broker, h.st.DLQTopic)
	echoHeaders := 0
	for i, m := range dead {
		for _, hd := range m.Headers {
			if hd.Key == dlq.HeaderErrorMessage && strings.Contains(string(hd.Value), lagsecEchoPrefix) {
				echoHeaders++
			}
			problems = append(problems, lagsecLeaks(fmt.Sprintf("dead letter %d header %s", i+1, hd.Key), hd.Value, secrets)...)
		}
	}
	for i, pr := range problems {
		if i == maxProblems {
			t.Errorf("%d more", len(problems)-i)
			break
		}
		t.Error(pr)
	}
	if echoes[http.StatusForbidden] == 0 || echoes[http.StatusInternalServerError] == 0 || echoes[http.StatusBadGateway] == 0 {
		t.Errorf("the proxy echoed %v (by status); want 403, 500 and 502 answers", echoes)
	}
	if echoLines == 0 || echoHeaders == 0 {
		t.Errorf("%d log lines and %d dead-letter messages carry the echoes: the scan did not see them", echoLines, echoHeaders)
	}
	t.Logf("figures %s: the proxy echoed request bodies in %v answers (by status); %d log lines and %d of %d dead-letter messages carry an echo; %d secret values scanned, %d leaks; %d of %d events delivered, %d of %d dead-lettered; worker %d",
		t.Name(), echoes, echoLines, echoHeaders, len(dead), len(secrets), len(problems), f.Delivered, f.ToDeliver, f.DeadLetters, f.ToDLQ, p.n)
}

// lagsecRunOnce runs `worker run` with extra arguments and settings on top
// of the stack's, and returns its exit status and output. A worker that
// refuses its settings ends at once; one still running after bound is
// killed and reported as -1 (bound is slack for a busy machine, not a
// measurement).
func lagsecRunOnce(h *harness, bound time.Duration, args []string, env ...string) (int, string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, workerBin, append([]string{"run"}, args...)...)
	cmd.Env = h.st.WorkerEnv(append(append(baseEnv(), "ORDERSYNC_HTTP_ADDR=127.0.0.1:0"), env...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1, out.String()
	}
	if err != nil && cmd.ProcessState == nil {
		h.t.Fatalf("run the worker: %v", err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// lagsecRefusalBound is how long a worker may take to refuse its settings.
const lagsecRefusalBound = 30 * time.Second

// lagsecPasswordFlag: the Kafka password is no flag (it would show in ps):
// `worker run --kafka-password …` exits 2 naming the flag, before any
// connection, and never shows the value. The settings would otherwise take
// the worker to the broker (SASL/PLAIN against a broker without SASL), so a
// worker that accepted the flag would not exit 2.
func lagsecPasswordFlag(t *testing.T) {
	h := newHarness(t, options{sample: mixed(46, 5)})
	const password = "lagsec-flag-password-5d1e"
	code, out := lagsecRunOnce(h, lagsecRefusalBound, []string{"--kafka-password", password},
		"ORDERSYNC_KAFKA_SASL_MECHANISM=PLAIN", "ORDERSYNC_KAFKA_USERNAME=ordersync")
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	if code != 2 || !strings.Contains(first, "kafka-password") {
		t.Errorf("worker run --kafka-password: exit status %d (-1: still running after %s), first line %q; want 2 and a line naming the flag",
			code, lagsecRefusalBound, first)
	}
	if strings.Contains(out, password) {
		t.Error("the worker's output shows the password given as a flag")
	}
	h.scan([]byte(out))
	t.Logf("figures %s: exit status %d: %s", t.Name(), code, first)
}

// lagsecKeyFileMode: a private key file readable by group and others (0644)
// is accepted with one warn line at start naming the setting and the file;
// the suite's usual 0600 key gives none.
func lagsecKeyFileMode(t *testing.T) {
	h := newHarness(t, options{sample: mixed(47, 5)})
	key, err := os.ReadFile(h.st.Creds.MchPrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(h.dir, "readable-key.pem")
	if err := os.WriteFile(open, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil { // not subject to the umask
		t.Fatal(err)
	}
	if fi, err := os.Stat(h.st.Creds.MchPrivateKeyFile); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("the stack's own key file: %v, %v; want mode 0600 for the control run", fi.Mode(), err)
	}
	control := h.start()
	h.terminate(control) // it served /healthz: its start-up warnings are logged
	p := h.start("ORDERSYNC_MCH_PRIVATE_KEY_FILE=" + open)
	h.terminate(p)
	warned := h.linesWith(p, `"level":"warn"`, "ORDERSYNC_MCH_PRIVATE_KEY_FILE", open)
	if len(warned) != 1 {
		t.Errorf("%d warn lines naming ORDERSYNC_MCH_PRIVATE_KEY_FILE and %s (mode 0644), want 1\n%s", len(warned), open, h.tail(p))
	}
	if lines := h.linesWith(control, "readable by group or others"); len(lines) > 0 {
		t.Errorf("a 0600 key file warned about: %s", lines[0])
	}
	h.scan()
	t.Logf("figures %s: key file mode 0644: %d warn line(s): %s", t.Name(), len(warned), strings.Join(warned, " "))
}

// lagsecPlainHTTP: a plain-http API base URL to a host other than this one
// (a documentation address, never reached) exits 2 at start naming
// ORDERSYNC_WECHATPAY_BASE_URL; with ORDERSYNC_ALLOW_INSECURE_BASE_URL=true
// the worker runs, with a warn line, and stops cleanly on SIGTERM.
func lagsecPlainHTTP(t *testing.T) {
	h := newHarness(t, options{sample: mixed(48, 5)})
	const remote = "http://192.0.2.10:8080"
	code, out := lagsecRunOnce(h, lagsecRefusalBound, nil, "ORDERSYNC_WECHATPAY_BASE_URL="+remote)
	last := strings.TrimSpace(out)
	last = last[strings.LastIndex(last, "\n")+1:]
	if code != 2 || !strings.Contains(last, "ORDERSYNC_WECHATPAY_BASE_URL") {
		t.Errorf("ORDERSYNC_WECHATPAY_BASE_URL=%s: exit status %d (-1: still running after %s), last line %q; want 2 and a line naming the setting",
			remote, code, lagsecRefusalBound, last)
	}
	p := h.start("ORDERSYNC_WECHATPAY_BASE_URL="+remote, "ORDERSYNC_ALLOW_INSECURE_BASE_URL=true")
	h.terminate(p)
	warned := h.linesWith(p, `"level":"warn"`, "ORDERSYNC_WECHATPAY_BASE_URL is plain http")
	if len(warned) == 0 {
		t.Errorf("allowed plain http: no warn line\n%s", h.tail(p))
	}
	h.scan([]byte(out))
	t.Logf("figures %s: plain http to %s: exit status %d: %s; allowed: ran, %d warn line(s), exit 0 on SIGTERM", t.Name(), remote, code, last, len(warned))
}
