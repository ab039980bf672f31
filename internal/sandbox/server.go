// Package sandbox is a stand-in for WeChat Pay's catering order sync API
// (POST /v3/catering/orders/sync-status) for tests, the demo, docker-compose
// and benchmarks. It verifies request signatures as WeChat Pay does,
// validates bodies with its own checker, answers signed 204s, records what it
// accepted and injects faults on demand. Never use it in production.
package sandbox

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// SyncStatusPath is the endpoint the sandbox implements.
const SyncStatusPath = "/v3/catering/orders/sync-status"

// maxBody bounds a request body; real orders are a few KiB.
const maxBody = 1 << 20

// Config configures a Server.
type Config struct {
	// Credentials holds the merchant public key the sandbox verifies with and
	// the WeChat-side keys it signs with. Required.
	Credentials *Credentials
	// ReuseSignatures signs empty 2xx answers once per second per key
	// (benchmark mode: keeps the sandbox's RSA cost out of client figures).
	ReuseSignatures bool
	// CountOnly records only the number of accepted uploads, not their
	// bodies (bounded memory for benchmarks and long demos).
	CountOnly bool
	// AdminToken, when set, is required on the admin endpoints (/sandbox/*)
	// as "Authorization: Bearer <token>"; without it they answer 401.
	AdminToken string
	// CheckEvery, when above 1, verifies the signature and validates the
	// body of only every CheckEvery-th request, the first included; the
	// others are accepted unless a fault says otherwise, their order number
	// read only when a record or a rejection needs it. Benchmark mode: it
	// keeps the sandbox's own CPU — an RSA verification and a JSON walk per
	// request — out of client figures. 0 or 1 checks every request.
	CheckEvery int
	// Now is the clock for timestamp checks and records; nil means time.Now.
	Now func() time.Time
	// Quota is the request quota of the Credentials' account, requests per
	// second shared by every caller; 0 = none (see accounts.go).
	Quota float64
	// Accounts are more merchant accounts, each with its own keys and quota.
	Accounts []Account
	// Bindings file sub-merchants under an account and a mode.
	Bindings []Binding
}

// Record is one accepted upload.
type Record struct {
	OrderNo  string    `json:"out_order_no"`
	SubMchID string    `json:"sub_mchid"`
	Status   string    `json:"status"`
	Body     []byte    `json:"-"`
	At       time.Time `json:"at"`
}

// Stats counts what the sandbox has seen since it started.
type Stats struct {
	Requests    int64         `json:"requests"`
	Checked     int64         `json:"checked"`  // signature verified and body validated
	Accepted    int64         `json:"accepted"` // 204 answers (recorded uploads)
	SignErrors  int64         `json:"sign_errors"`
	ParamErrors int64         `json:"param_errors"`
	Hung        int64         `json:"hung"`
	Dropped     int64         `json:"dropped"`
	Throttled   int64         `json:"throttled"` // 429 FREQUENCY_LIMITED past an account's quota
	ByStatus    map[int]int64 `json:"by_status"`
}

// Server is the sandbox. It is safe for concurrent use.
type Server struct {
	cfg      Config
	creds    *Credentials
	pubKey   *responseSigner     // answers requests carrying Wechatpay-Serial: PUB_KEY_ID_…
	platform *responseSigner     // answers everything else
	accounts map[string]*account // by mchid, Credentials' account included
	bindings map[string]Binding  // by sub_mchid
	closed   chan struct{}
	closeMu  sync.Once
	seq      atomic.Uint64
	checkSeq atomic.Uint64

	lastValid atomic.Pointer[validBody] // benchmark mode only

	mu          sync.Mutex
	faults      Faults
	outageUntil time.Time
	records     []Record
	byOrder     map[string][]int
	stats       Stats
	last        lastStates
}

// ErrNoCredentials reports a Config without credentials.
var ErrNoCredentials = errors.New("sandbox config: credentials required")

// New builds a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Credentials == nil {
		return nil, ErrNoCredentials
	}
	c := cfg.Credentials
	s := &Server{
		cfg:      cfg,
		creds:    c,
		pubKey:   &responseSigner{serial: c.WechatPayPublicKeyID, key: c.WechatPayPrivateKey},
		platform: &responseSigner{serial: c.PlatformCertSerial, key: c.PlatformPrivateKey},
		closed:   make(chan struct{}),
		byOrder:  map[string][]int{},
		stats:    Stats{ByStatus: map[int]int64{}},
	}
	if err := s.setAccounts(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close releases requests held by latency or timeout faults so that an
// http.Server or httptest.Server wrapping the handler can shut down. It does
// not stop the HTTP server itself.
func (s *Server) Close() {
	s.closeMu.Do(func() { close(s.closed) })
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// Handler serves the API endpoint and the admin endpoints /sandbox/faults
// (GET, PUT, DELETE), /sandbox/stats (GET) and
// /sandbox/orders/{sub_mchid}/{out_order_no} (GET, the order's last accepted state).
func (s *Server) Handler() http.Handler {
	admin := http.NewServeMux()
	admin.HandleFunc("/sandbox/faults", s.handleFaults)
	admin.HandleFunc("GET /sandbox/orders/{sub_mchid}/{out_order_no}", s.handleOrder)
	admin.HandleFunc("/sandbox/stats", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux := http.NewServeMux()
	mux.HandleFunc(SyncStatusPath, s.handleSync)
	mux.Handle("/sandbox/", s.adminOnly(admin))
	return mux
}

// adminOnly answers 401 unless the request carries Config.AdminToken as a
// bearer token (every request passes when no token is set).
func (s *Server) adminOnly(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.cfg.AdminToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if s.cfg.AdminToken != "" && subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sandbox admin"`)
			http.Error(w, "sandbox admin endpoint: send Authorization: Bearer <admin token>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Count returns the number of accepted uploads.
func (s *Server) Count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Accepted
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByStatus = make(map[int]int64, len(s.stats.ByStatus))
	for k, v := range s.stats.ByStatus {
		st.ByStatus[k] = v
	}
	return st
}

// Records returns every accepted upload in arrival order (empty in
// CountOnly mode).
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.records...)
}

// OrderRecords returns the accepted uploads of one order in arrival order.
func (s *Server) OrderRecords(orderNo string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.byOrder[orderNo]
	out := make([]Record, len(idx))
	for i, j := range idx {
		out[i] = s.records[j]
	}
	return out
}

// Reset forgets records and counters (not faults).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = nil
	s.byOrder = map[string][]int{}
	s.stats = Stats{ByStatus: map[int]int64{}}
	s.last.reset()
}

func (s *Server) count(f func(st *Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

// handleSync implements the endpoint. Order of checks: outage, latency,
// timeout, Authorization (401), headers (400), 5xx/429/202 faults, body
// rules (400 PARAM_ERROR), rejections, then record and a signed 204.
func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Requests++ })
	if r.Method != http.MethodPost {
		s.answer(w, http.StatusMethodNotAllowed)
		return
	}
	f, outage := s.takeFaults(s.now())
	if outage {
		if f.Outage.Mode == OutageDrop && s.drop(w) {
			return
		}
		s.writeError(w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "sandbox outage", nil)
		return
	}
	if d := f.delay(); d > 0 && !s.hold(w, r, time.NewTimer(d)) {
		return
	}
	if roll(f.TimeoutRate) {
		s.count(func(st *Stats) { st.Hung++ })
		s.hold(w, r, nil)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "body unreadable or too large", nil)
		return
	}
	check := s.checkThis()
	acct := s.accountOf(r)
	if err := s.verifyIf(check, acct.creds, r, body); err != nil {
		s.count(func(st *Stats) { st.SignErrors++ })
		s.writeError(w, http.StatusUnauthorized, "SIGN_ERROR", "签名错误: "+err.Error(),
			map[string]any{"field": "signature", "location": "authorization", "issue": err.Error()})
		return
	}
	signer := acct.platform
	switch serial := r.Header.Get("Wechatpay-Serial"); serial {
	case "", acct.platform.serial:
	case acct.pubKey.serial:
		signer = acct.pubKey
	default:
		s.writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "Wechatpay-Serial错误",
			map[string]any{"field": "Wechatpay-Serial", "location": "header", "issue": "unknown serial"})
		return
	}
	for _, h := range []string{"Accept", "User-Agent"} {
		if r.Header.Get(h) == "" {
			s.writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "missing "+h+" header",
				map[string]any{"field": h, "location": "header", "issue": "required"})
			return
		}
	}
	if !acct.allow() {
		s.count(func(st *Stats) { st.Throttled++ })
		s.writeError(w, http.StatusTooManyRequests, "FREQUENCY_LIMITED", "请求频率超过限制", nil)
		return
	}
	switch {
	case roll(f.ServerErrorRate):
		s.writeError(w, http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误", nil)
		return
	case roll(f.RateLimitRate):
		if f.RetryAfter > 0 {
			secs := (time.Duration(f.RetryAfter) + time.Second - 1) / time.Second
			w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		}
		s.writeError(w, http.StatusTooManyRequests, "RATE_LIMITED", "频率超限", nil)
		return
	case roll(f.AcceptedRate):
		s.writeSigned(w, http.StatusAccepted, signer, f)
		return
	}
	head, v := s.validate(body, check, len(f.Rejections) > 0 || len(s.bindings) > 0)
	if v != nil {
		s.count(func(st *Stats) { st.ParamErrors++ })
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "参数错误: "+v.Issue,
			map[string]any{"field": v.Field, "location": "body", "issue": v.Issue})
		return
	}
	if rej, ok := s.bindingRejection(acct, head.SubMchID, body); ok {
		s.writeError(w, rej.status, rej.code, rej.message, rej.detail)
		return
	}
	if rej, ok := f.rejectionFor(head.SubMchID, head.OrderNo); ok {
		s.writeError(w, rej.Status, rej.Code, rej.Message, nil)
		return
	}
	s.record(Record{OrderNo: head.OrderNo, SubMchID: head.SubMchID, Status: head.Status, Body: body, At: s.now()})
	s.writeSigned(w, http.StatusNoContent, signer, f)
}

// readBody reads the request body, sized by Content-Length when known.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rd := http.MaxBytesReader(w, r.Body, maxBody)
	if n := r.ContentLength; n > 0 && n <= maxBody {
		buf := make([]byte, n)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		return buf, nil
	}
	return io.ReadAll(rd)
}

// orderHead is what the sandbox records of a valid body.
type orderHead struct {
	SubMchID string `json:"sub_mchid"`
	OrderNo  string `json:"out_order_no"`
	Status   string `json:"status"`
}

type validBody struct {
	body []byte
	head orderHead
}

// verifyIf verifies r's signature if check is set (see CheckEvery).
func (s *Server) verifyIf(check bool, c *Credentials, r *http.Request, body []byte) error {
	if !check {
		return nil
	}
	return s.verifyRequest(c, r.Header.Get("Authorization"), r.Method, r.URL.RequestURI(), body, s.now())
}

// checkThis reports whether this request is one CheckEvery selects, and
// counts it as checked if so.
func (s *Server) checkThis() bool {
	if every := uint64(s.cfg.CheckEvery); every > 1 && s.checkSeq.Add(1)%every != 1 {
		return false
	}
	s.count(func(st *Stats) { st.Checked++ })
	return true
}

// validate checks body with ValidateOrder, or when check is false (see
// CheckEvery) only reads its head — and not even that when neither a record
// (CountOnly) nor a rejection (rejecting) needs it. In benchmark mode
// (ReuseSignatures) a body byte-identical to the last valid one is not
// checked again: validation is a pure function of the bytes.
func (s *Server) validate(body []byte, check, rejecting bool) (orderHead, *Violation) {
	if !check {
		var head orderHead
		if s.cfg.CountOnly && !rejecting {
			return head, nil
		}
		if err := json.Unmarshal(body, &head); err != nil {
			return orderHead{}, &Violation{Field: "", Issue: "body is not a valid JSON object"}
		}
		return head, nil
	}
	if s.cfg.ReuseSignatures {
		if last := s.lastValid.Load(); last != nil && bytes.Equal(last.body, body) {
			return last.head, nil
		}
	}
	if v := ValidateOrder(body); v != nil {
		return orderHead{}, v
	}
	var head orderHead
	_ = json.Unmarshal(body, &head) // ValidateOrder accepted it: a JSON object with these strings
	if s.cfg.ReuseSignatures {
		s.lastValid.Store(&validBody{body: body, head: head})
	}
	return head, nil
}

// hold waits for t (nil: forever). It returns false, having answered 503
// if the client is still there, when the client gives up or Close is called.
func (s *Server) hold(w http.ResponseWriter, r *http.Request, t *time.Timer) bool {
	var fire <-chan time.Time
	if t != nil {
		defer t.Stop()
		fire = t.C
	}
	select {
	case <-fire:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closed:
		s.writeError(w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "sandbox closing", nil)
		return false
	}
}

func (s *Server) record(rec Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Accepted++
	s.last.keep(rec, !s.cfg.CountOnly)
	if s.cfg.CountOnly {
		return
	}
	s.byOrder[rec.OrderNo] = append(s.byOrder[rec.OrderNo], len(s.records))
	s.records = append(s.records, rec)
}

// drop closes the connection without an answer; false if it cannot.
func (s *Server) drop(w http.ResponseWriter) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	_ = conn.Close()
	s.count(func(st *Stats) { st.Dropped++ })
	return true
}

func (s *Server) requestID() string {
	return fmt.Sprintf("SANDBOX-%X-%d", s.now().UnixNano(), s.seq.Add(1))
}

// answer writes a bodiless, unsigned status.
func (s *Server) answer(w http.ResponseWriter, status int) {
	s.count(func(st *Stats) { st.ByStatus[status]++ })
	w.Header().Set("Request-ID", s.requestID())
	w.WriteHeader(status)
}

// writeError writes an unsigned v3 error body {"code","message","detail"}.
func (s *Server) writeError(w http.ResponseWriter, status int, code, message string, detail map[string]any) {
	s.count(func(st *Stats) { st.ByStatus[status]++ })
	w.Header().Set("Request-ID", s.requestID())
	body := map[string]any{"code": code, "message": message}
	if detail != nil {
		body["detail"] = detail
	}
	writeJSON(w, status, body)
}

// writeSigned writes an empty 2xx answer signed as WeChat Pay signs its answers, or
// deliberately mis-signed when the faults ask for it.
func (s *Server) writeSigned(w http.ResponseWriter, status int, signer *responseSigner, f Faults) {
	s.count(func(st *Stats) { st.ByStatus[status]++ })
	ts := s.now().Add(time.Duration(f.TimestampSkew)).Unix()
	key := signer
	if f.BadSignature == BadSignatureWrongKey {
		key = s.platform
		if signer == s.platform {
			key = s.pubKey
		}
	}
	st := key.stamp(ts, nil, s.cfg.ReuseSignatures)
	if f.BadSignature == BadSignatureSignTest {
		st.signature = "WECHATPAY/SIGNTEST/" + st.signature
	}
	h := w.Header()
	h.Set("Request-ID", s.requestID())
	h.Set("Wechatpay-Serial", signer.serial)
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(st.ts, 10))
	h.Set("Wechatpay-Nonce", st.nonce)
	h.Set("Wechatpay-Signature", st.signature)
	h.Set("Wechatpay-Signature-Type", authScheme)
	w.WriteHeader(status)
}
