package uploader

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
)

// Classification of one attempt — the single place where answers map to
// outcomes (README "How it works", and the API's error codes):
//
//	| answer                                              | kind        | Upload does                          |
//	|-----------------------------------------------------|-------------|--------------------------------------|
//	| 204 or 200, signature and timestamp verified        | delivered   | returns Delivered                    |
//	| 401 (SIGN_ERROR or any code)                        | sign error  | opens the breaker; waits, retries    |
//	| 429                                                 | throttled   | lowers the rate (adaptive.go), backs |
//	|                                                     |             | off (Retry-After), retries; the wait |
//	|                                                     |             | is not charged to MaxElapsed         |
//	| 5xx, 202, any other 2xx/1xx/3xx                     | transient   | backs off (Retry-After), retries     |
//	| 2xx whose signature or timestamp does not verify    | transient   | same (outcome unknown: resent)       |
//	| network error, per-attempt timeout                  | transient   | same                                 |
//	| other 4xx with a WeChat Pay error code              | rejected    | returns Rejected at once             |
//	| 413 without one                                     | rejected    | returns Rejected (body at fault)     |
//	| other 4xx without one (empty 404/405, proxy pages)  | transient   | backs off, retries: not the API's    |
//	|                                                     |             | verdict on the event (ErrNoCode)     |
//	| request could not be built or signed locally        | sign error  | opens the breaker (deployment fault) |
//	| ctx done (shutdown)                                 | cancelled   | returns Cancelled, no more attempts  |
//
// Transient answers count towards the breaker; delivered and rejected
// answers close it; throttled answers neither (a 429 never pauses).
type kind int

const (
	kindDelivered kind = iota
	kindRejected
	kindTransient
	kindSignError
	kindCancelled
	kindThrottled
)

// String returns the Observer result label of the kind.
func (k kind) String() string {
	switch k {
	case kindDelivered:
		return "delivered"
	case kindRejected:
		return "rejected"
	case kindTransient:
		return "transient"
	case kindSignError:
		return "sign_error"
	case kindThrottled:
		return "throttled"
	default:
		return "cancelled"
	}
}

var (
	// ErrNoCode reports a 4xx answer without a WeChat Pay error code: every
	// error of the API carries one, except the empty 404 and 405 that answer
	// an unknown path or method — a wrong ORDERSYNC_WECHATPAY_BASE_URL or a
	// proxy in the way, a fault of the deployment that would otherwise
	// dead-letter every event. It is retried like an outage.
	ErrNoCode = errors.New("answer without a WeChat Pay error code: not the API's verdict on the event; check ORDERSYNC_WECHATPAY_BASE_URL and any proxy")
	// ErrUnverified reports a 2xx answer whose WeChat Pay signature or
	// timestamp did not verify: the server may have acted, the upload is
	// retried.
	ErrUnverified = errors.New("response signature or timestamp did not verify")
	// ErrClockSkew reports a 2xx answer whose Wechatpay-Timestamp is more
	// than five minutes from this host's clock: check the clock (NTP).
	ErrClockSkew = errors.New("response timestamp out of range of this host's clock (check NTP)")
	// ErrNotProcessed reports a 2xx answer other than 200/204 (202: accepted
	// but not processed).
	ErrNotProcessed = errors.New("answer accepted but not processed")
	// ErrSignRequest reports a request that could not be built or signed
	// locally.
	ErrSignRequest = errors.New("cannot sign request")
)

// APIError is an error answer of the API (non-2xx). It carries only the
// parsed fields, never the raw body or headers, so it is safe to log.
type APIError struct {
	StatusCode int
	Code       string
	Message    string
	Field      string // detail.field: JSON pointer into the body, or a header/parameter name
	RequestID  string
	RetryAfter time.Duration // from Retry-After, 0 when absent
}

// Error describes the answer in one line.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wechat pay answered %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", oneLine(e.Message))
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " (field %s)", e.Field)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " request-id %s", e.RequestID)
	}
	return b.String()
}

// attemptResult is what one POST produced.
type attemptResult struct {
	kind       kind
	upload     uint64 // the Upload call that made the attempt
	status     int
	apiErr     *APIError // set for non-2xx answers
	requestID  string
	retryAfter time.Duration
	err        error
}

// classify maps the SDK's result of one POST to an attemptResult. ctx is
// the caller's context (not the per-attempt one), to tell shutdown from a
// per-attempt timeout.
func classify(ctx context.Context, res *core.APIResult, err error, now time.Time) attemptResult {
	var resp *http.Response
	if res != nil {
		resp = res.Response
	}
	if ctx.Err() != nil {
		return attemptResult{kind: kindCancelled, err: fmt.Errorf("upload cancelled: %w", ctx.Err())}
	}
	var sdkErr *core.APIError
	switch {
	case errors.As(err, &sdkErr):
		ae := fromSDK(sdkErr, now)
		r := attemptResult{status: ae.StatusCode, apiErr: ae, requestID: ae.RequestID, retryAfter: ae.RetryAfter, err: ae}
		switch s := ae.StatusCode; {
		case s == http.StatusUnauthorized:
			r.kind = kindSignError
		case s == http.StatusTooManyRequests:
			r.kind = kindThrottled
		case s >= 500, s < 400:
			r.kind = kindTransient
		case ae.Code == "" && s == http.StatusRequestEntityTooLarge:
			// Whoever answered, the body is too large: sending it again
			// cannot help.
			r.kind = kindRejected
			ae.Message = "request body too large for the API or a proxy in the way"
		case ae.Code == "":
			r.kind = kindTransient
			r.err = fmt.Errorf("%w (HTTP %d)", ErrNoCode, s)
		default:
			r.kind = kindRejected
		}
		return r
	case err != nil && resp != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 && clockSkew(err):
		// The answer's timestamp is more than five minutes from this
		// host's clock: a deployment fault like a 401, not an outage.
		return attemptResult{kind: kindSignError, status: resp.StatusCode, requestID: resp.Header.Get("Request-ID"),
			err: fmt.Errorf("%w: %s", ErrClockSkew, oneLine(err.Error()))}
	case err != nil && resp != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299:
		// 2xx that failed verification; the SDK's message names serial and
		// request id only.
		return attemptResult{kind: kindTransient, status: resp.StatusCode, requestID: resp.Header.Get("Request-ID"),
			err: fmt.Errorf("%w: %s", ErrUnverified, oneLine(err.Error()))}
	case err != nil && res == nil:
		return attemptResult{kind: kindSignError, err: fmt.Errorf("%w: %s", ErrSignRequest, oneLine(err.Error()))}
	case err != nil:
		return attemptResult{kind: kindTransient, err: fmt.Errorf("post: %w", err)}
	}
	r := attemptResult{status: resp.StatusCode, requestID: resp.Header.Get("Request-ID")}
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK:
		r.kind = kindDelivered
	default:
		r.kind = kindTransient
		r.err = fmt.Errorf("%w: status %d request-id %s", ErrNotProcessed, resp.StatusCode, r.requestID)
		r.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	return r
}

func fromSDK(e *core.APIError, now time.Time) *APIError {
	ae := &APIError{StatusCode: e.StatusCode, Code: e.Code, Message: e.Message}
	if e.Header != nil {
		ae.RequestID = e.Header.Get("Request-ID")
		ae.RetryAfter = parseRetryAfter(e.Header.Get("Retry-After"), now)
	}
	if d, ok := e.Detail.(map[string]any); ok {
		if f, ok := d["field"].(string); ok {
			ae.Field = f
		}
	}
	return ae
}

// parseRetryAfter reads Retry-After as delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// clockSkew reports whether err is wechatpay-go's refusal of a response
// timestamp too far from the local clock ("timestamp=[…] expires").
func clockSkew(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "timestamp=[") && strings.Contains(msg, "expires")
}
