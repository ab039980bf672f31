// Package uploader sends sync-status bodies to WeChat Pay, signed and
// verified by wechatpay-go (see request.go), classifies each answer (see
// classify.go), retries
// transient failures with exponential backoff and pauses every upload while
// the API is down or the deployment's key is wrong (see breaker.go). It never
// logs; everything the caller needs is in the Outcome.
package uploader

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// SyncStatusPath is the API path every upload is posted to.
const SyncStatusPath = "/v3/catering/orders/sync-status"

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxInFlight      = 64
	DefaultRequestTimeout   = 10 * time.Second
	DefaultInitialInterval  = 500 * time.Millisecond
	DefaultMaxInterval      = time.Minute
	DefaultMaxElapsed       = 15 * time.Minute
	DefaultBreakerThreshold = 5
	DefaultProbeMaxInterval = 5 * time.Second
)

// RetryPolicy is the exponential backoff (with jitter) of one upload.
// MaxElapsed is the time an upload may spend failing, not counting time
// paused by the breaker.
type RetryPolicy struct {
	InitialInterval, MaxInterval, MaxElapsed time.Duration
}

// Config configures an Uploader. Zero values take the Default* constants.
type Config struct {
	BaseURL              string // e.g. https://api.mch.weixin.qq.com or http://127.0.0.1:PORT
	MchID, MchCertSerial string
	MchPrivateKey        *rsa.PrivateKey
	// Public-key verification mode: the WeChat Pay public key and its id
	// (PUB_KEY_ID_…).
	WechatPayPublicKey   *rsa.PublicKey
	WechatPayPublicKeyID string
	// Platform-certificate verification mode, instead of the public key.
	WechatPayCert *x509.Certificate
	// MaxInFlight sizes the connection pool (idle connections per host).
	MaxInFlight int
	// RateLimit is the ceiling of the adaptive request rate (see
	// adaptive.go), attempts per second, probes included; 0 = no ceiling.
	RateLimit float64
	Retry     RetryPolicy
	// RequestTimeout bounds one attempt.
	RequestTimeout time.Duration
	// BreakerThreshold is the number of consecutive transient attempts,
	// across uploads, that pauses delivery. Negative: transient failures
	// never pause (each upload exhausts its own budget); a 401 still does.
	BreakerThreshold int
	// ProbeMaxInterval caps the spacing of probe attempts while paused.
	ProbeMaxInterval time.Duration
	// YieldWhilePaused makes Upload return a Paused outcome, nothing sent,
	// instead of waiting while the breaker is open, unless it takes the
	// probe slot: the caller then waits in WaitProbe without holding
	// whatever slot it uploads in, so that one paused account of several
	// does not fill a shared in-flight bound.
	YieldWhilePaused bool
	// Observer receives per-attempt metrics and pause changes; may be nil.
	Observer Observer
	// Transport, when set, is the connection pool the uploader sends
	// through, shared with other uploaders to the same API (every merchant
	// account of a registry: see NewTransport); Close leaves it alone.
	// Nil: the uploader makes its own.
	Transport *http.Transport
	// Now is the clock for retry budgets; nil means time.Now.
	Now func() time.Time
}

// Observer receives metrics. Calls are synchronous and must be cheap; an
// Observer must not call back into the Uploader.
type Observer interface {
	// UploadAttempt reports one attempt. result is delivered, rejected,
	// transient, throttled (429), sign_error or cancelled; httpStatus is 0
	// without an answer.
	UploadAttempt(result string, httpStatus int, d time.Duration)
	// Paused reports that delivery paused (true, with the reason) or resumed.
	Paused(paused bool, reason string)
	// SignCPU reports the CPU time of one request signature, measured on
	// the signing thread (not reported where the platform has no
	// per-thread CPU clock).
	SignCPU(d time.Duration)
}

// Class is the final outcome of an upload.
type Class int

// Upload outcomes.
const (
	Delivered        Class = iota // the API answered 204 (or 200), verified
	Rejected                      // the API answered a permanent error: fix the data
	RetriesExhausted              // transient failures outlasted MaxElapsed
	Cancelled                     // ctx ended: not a failure, the event is not done
	Paused                        // Config.YieldWhilePaused: paused, nothing sent now; WaitProbe, then Upload again
)

// String returns delivered, rejected, retries_exhausted or cancelled.
func (c Class) String() string {
	switch c {
	case Delivered:
		return "delivered"
	case Rejected:
		return "rejected"
	case RetriesExhausted:
		return "retries_exhausted"
	case Cancelled:
		return "cancelled"
	case Paused:
		return "paused"
	default:
		return fmt.Sprintf("class(%d)", int(c))
	}
}

// Outcome is the result of Upload.
type Outcome struct {
	Class    Class
	Attempts int
	// HTTPStatus is the status of the last answer, 0 if none.
	HTTPStatus int
	// Code, Message, Field (detail.field) and RequestID come from the last
	// API answer that had them.
	Code, Message, Field, RequestID string
	// Err is the last error, nil when Delivered. It never contains the
	// private key, the body or the Authorization header.
	Err error
}

var (
	// ErrInvalidConfig reports a Config that New cannot use.
	ErrInvalidConfig = errors.New("invalid uploader config")
	// ErrEmptyBody reports an Upload of an empty body (never sent).
	ErrEmptyBody = errors.New("empty body")
	// ErrRetriesExhausted wraps the last error of a RetriesExhausted outcome.
	ErrRetriesExhausted = errors.New("retries exhausted")
	// ErrPaused is the error of a Paused outcome.
	ErrPaused = errors.New("uploads paused")
)

// Uploader posts sync-status bodies. It is safe for concurrent use; build
// one per deployment and Close it when done.
type Uploader struct {
	poster   *poster
	retry    RetryPolicy
	timeout  time.Duration
	rate     *adaptiveRate
	breaker  *breaker
	yield    bool
	observer Observer
	now      func() time.Time
	uploads  atomic.Uint64 // numbers each Upload call for the breaker
	shared   bool          // the transport is Config.Transport
}

// New validates cfg and builds the HTTP client, the signer and the
// validator. It does no I/O.
func New(cfg Config) (*Uploader, error) {
	if err := applyDefaults(&cfg); err != nil {
		return nil, err
	}
	transport := cfg.Transport
	if transport == nil {
		transport = NewTransport(cfg.MaxInFlight, cfg.RequestTimeout)
	}
	// Each attempt runs under a context with RequestTimeout (see attempt).
	// Redirects are not followed: the API never answers one, and following a
	// 307 would send the body — login_token included — to whatever host a
	// proxy names. A 3xx is then a transient answer like any other.
	httpClient := &http.Client{Transport: cappedTransport{rt: transport, max: maxResponseBytes}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	poster, err := newPoster(&cfg, httpClient, strings.TrimRight(cfg.BaseURL, "/")+SyncStatusPath)
	if err != nil {
		return nil, err
	}
	u := &Uploader{
		poster:   poster,
		retry:    cfg.Retry,
		timeout:  cfg.RequestTimeout,
		yield:    cfg.YieldWhilePaused,
		observer: cfg.Observer,
		now:      cfg.Now,
		shared:   cfg.Transport != nil,
	}
	u.rate = newAdaptiveRate(cfg.RateLimit, cfg.Now, cfg.Observer)
	u.breaker = newBreaker(cfg.BreakerThreshold, min(cfg.Retry.InitialInterval, cfg.ProbeMaxInterval),
		cfg.ProbeMaxInterval, cfg.Now, cfg.Observer)
	return u, nil
}

// NewTransport returns the connection pool of uploads with at most
// maxInFlight in flight (0: DefaultMaxInFlight) and attempts of at most
// requestTimeout (0: DefaultRequestTimeout): idle connections are kept for
// every upload in flight.
func NewTransport(maxInFlight int, requestTimeout time.Duration) *http.Transport {
	setDefault(&maxInFlight, DefaultMaxInFlight)
	setDefault(&requestTimeout, DefaultRequestTimeout)
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2 * maxInFlight,
		MaxIdleConnsPerHost:   maxInFlight,
		MaxConnsPerHost:       0, // unlimited: MaxInFlight bounds concurrency upstream
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

func applyDefaults(cfg *Config) error {
	bad := func(what string) error { return fmt.Errorf("%s: %w", what, ErrInvalidConfig) }
	base, err := url.Parse(cfg.BaseURL)
	switch {
	case err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "":
		return bad("base url must be http(s)://host")
	case cfg.MchID == "":
		return bad("mchid required")
	case cfg.MchCertSerial == "":
		return bad("merchant certificate serial required")
	case cfg.MchPrivateKey == nil:
		return bad("merchant private key required")
	case cfg.WechatPayPublicKey != nil && cfg.WechatPayCert != nil:
		return bad("set either the wechat pay public key or the platform certificate, not both")
	case cfg.WechatPayPublicKey != nil && cfg.WechatPayPublicKeyID == "":
		return bad("wechat pay public key id required with the public key")
	case cfg.WechatPayPublicKey == nil && cfg.WechatPayCert == nil:
		return bad("wechat pay public key or platform certificate required")
	case cfg.MaxInFlight < 0 || cfg.RateLimit < 0 || cfg.RequestTimeout < 0 ||
		cfg.Retry.InitialInterval < 0 || cfg.Retry.MaxInterval < 0 || cfg.Retry.MaxElapsed < 0 || cfg.ProbeMaxInterval < 0:
		return bad("negative limit or duration")
	}
	if cfg.WechatPayCert != nil {
		if _, ok := cfg.WechatPayCert.PublicKey.(*rsa.PublicKey); !ok {
			return bad("platform certificate key is not rsa")
		}
	}
	setDefault(&cfg.MaxInFlight, DefaultMaxInFlight)
	setDefault(&cfg.RequestTimeout, DefaultRequestTimeout)
	setDefault(&cfg.Retry.InitialInterval, DefaultInitialInterval)
	setDefault(&cfg.Retry.MaxInterval, DefaultMaxInterval)
	setDefault(&cfg.Retry.MaxElapsed, DefaultMaxElapsed)
	setDefault(&cfg.BreakerThreshold, DefaultBreakerThreshold)
	setDefault(&cfg.ProbeMaxInterval, DefaultProbeMaxInterval)
	if cfg.Retry.MaxInterval < cfg.Retry.InitialInterval {
		return bad("retry max interval below initial interval")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Close releases idle connections, unless the transport is shared
// (Config.Transport). Uploads in progress are not affected.
func (u *Uploader) Close() {
	if !u.shared {
		u.poster.client.CloseIdleConnections()
	}
}

// Paused reports whether delivery is paused by the breaker, and why.
func (u *Uploader) Paused() (bool, string) {
	return u.breaker.state()
}

// WaitProbe returns when an Upload could send: the breaker is closed or
// its probe is due (Config.YieldWhilePaused), or with ctx's error.
func (u *Uploader) WaitProbe(ctx context.Context) error { return u.breaker.waitChance(ctx) }

// Upload posts body (the exact bytes, signed as-is) until a final outcome:
// delivered, rejected, retries exhausted, or cancelled when ctx ends (at
// once, also mid-backoff or while paused); with Config.YieldWhilePaused,
// paused instead of waiting for the breaker.
func (u *Uploader) Upload(ctx context.Context, body []byte) Outcome {
	var out Outcome
	if len(body) == 0 {
		out.Class, out.Err = Rejected, ErrEmptyBody
		return out
	}
	var bo *backoff.ExponentialBackOff // made at the first failure
	next := func() time.Duration {
		if bo == nil {
			bo = backoff.NewExponentialBackOff(
				backoff.WithInitialInterval(u.retry.InitialInterval),
				backoff.WithMaxInterval(u.retry.MaxInterval),
				backoff.WithMaxElapsedTime(0), // the budget below excludes paused time
			)
		}
		return bo.NextBackOff()
	}
	start := u.now()
	id := u.uploads.Add(1)
	told := attemptFuncOf(ctx)
	var paused time.Duration // not charged to MaxElapsed
	// successMark is the breaker's success count at this upload's first
	// failure: an upload exhausts only if the upstream answered someone
	// since, otherwise its failures look like an outage.
	var successMark uint64
	for {
		waitStart := u.now()
		var probe bool
		var err error
		if u.yield {
			var open bool
			if probe, open = u.breaker.tryProbe(); open && !probe {
				_, why := u.breaker.state()
				out.Class, out.Err = Paused, fmt.Errorf("%w: %s", ErrPaused, why)
				return out
			}
		} else {
			probe, err = u.breaker.wait(ctx)
		}
		paused += u.now().Sub(waitStart)
		if err != nil {
			return cancelled(out, err)
		}
		if err := u.rate.lim.Wait(ctx); err != nil {
			if probe {
				u.breaker.done(attemptResult{kind: kindCancelled}, true)
			}
			return cancelled(out, err)
		}
		attemptStart := u.now()
		r := u.attempt(ctx, body)
		r.upload = id
		r.retryAfter = min(r.retryAfter, u.retry.MaxInterval)
		attemptEnd := u.now()
		d := attemptEnd.Sub(attemptStart)
		if probe {
			paused += d
		}
		out.Attempts++
		if u.observer != nil {
			u.observer.UploadAttempt(r.kind.String(), r.status, d)
		}
		if told != nil {
			told(attemptOf(r, attemptStart, attemptEnd))
		}
		u.breaker.done(r, probe)
		if r.status != 0 {
			out.HTTPStatus, out.RequestID = r.status, r.requestID
			out.Code, out.Message, out.Field = "", "", ""
			if r.apiErr != nil {
				out.Code, out.Message, out.Field = r.apiErr.Code, r.apiErr.Message, r.apiErr.Field
			}
		}
		out.Err = r.err
		switch r.kind {
		case kindDelivered:
			u.rate.answered()
			out.Class = Delivered
			return out
		case kindRejected:
			u.rate.answered()
			out.Class = Rejected
			return out
		case kindCancelled:
			out.Class = Cancelled
			return out
		case kindThrottled:
			// The API asks to slow down: not a failure of the event, so the
			// wait is not charged to MaxElapsed.
			u.rate.throttled()
			delay := max(next(), r.retryAfter)
			paused += delay
			if !sleep(ctx, delay) {
				return cancelled(out, ctx.Err())
			}
			continue
		}
		if out.Attempts == 1 {
			successMark = u.breaker.successCount()
		}
		if open, _ := u.breaker.state(); open {
			continue // wait for the breaker, uncharged
		}
		delay := max(next(), r.retryAfter) // Retry-After capped by MaxInterval above
		if u.now().Sub(start)-paused+delay > u.retry.MaxElapsed {
			if u.breaker.threshold > 0 && u.breaker.successCount() == successMark && u.breaker.spansEvents() {
				u.breaker.pause(fmt.Sprintf("upstream unavailable: no attempt succeeded for %v, last: %v", u.retry.MaxElapsed, r.err))
				continue
			}
			out.Class = RetriesExhausted
			out.Err = fmt.Errorf("%w after %d attempts: %w", ErrRetriesExhausted, out.Attempts, r.err)
			return out
		}
		if !sleep(ctx, delay) {
			return cancelled(out, ctx.Err())
		}
	}
}

// sleep waits d; false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func cancelled(out Outcome, err error) Outcome {
	out.Class = Cancelled
	out.Err = fmt.Errorf("upload cancelled: %w", err)
	return out
}

// attempt makes one signed POST and classifies it, with the body's own
// secrets redacted from the answer. The response body is drained and closed
// so the connection returns to the pool.
func (u *Uploader) attempt(ctx context.Context, body []byte) attemptResult {
	actx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	res, err := u.poster.post(actx, body)
	if res != nil && res.Response != nil && res.Response.Body != nil {
		_, _ = io.Copy(io.Discard, res.Response.Body) // ends at the cap
		_ = res.Response.Body.Close()
	}
	return redactResult(classify(ctx, res, err, u.now()), body)
}
