package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("250ms", "2s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"250ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("parse duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Bad response signature modes for Faults.BadSignature.
const (
	BadSignatureWrongKey = "wrong_key" // signed with the other WeChat-side key
	BadSignatureSignTest = "signtest"  // WECHATPAY/SIGNTEST/ probe value
)

// Outage modes for Outage.Mode.
const (
	OutageUnavailable = "503"  // answer 503 SERVICE_UNAVAILABLE
	OutageDrop        = "drop" // close the connection without an answer
)

// ErrBadFaults reports an invalid fault configuration.
var ErrBadFaults = errors.New("invalid sandbox faults")

// Faults configures the failures the sandbox injects. The zero value
// injects nothing. Rates are fractions of requests in [0, 1].
type Faults struct {
	Latency         Duration    `json:"latency,omitempty"`           // added to every answer
	LatencyJitter   Duration    `json:"latency_jitter,omitempty"`    // plus a uniform random part up to this
	TimeoutRate     float64     `json:"timeout_rate,omitempty"`      // hang until the client gives up
	ServerErrorRate float64     `json:"server_error_rate,omitempty"` // 500 SYSTEM_ERROR
	RateLimitRate   float64     `json:"rate_limit_rate,omitempty"`   // 429 RATE_LIMITED
	RetryAfter      Duration    `json:"retry_after,omitempty"`       // Retry-After on 429, whole seconds (rounded up)
	AcceptedRate    float64     `json:"accepted_rate,omitempty"`     // signed 202, not processed
	Outage          *Outage     `json:"outage,omitempty"`            // every request fails
	Rejections      []Rejection `json:"rejections,omitempty"`        // per merchant or order answers
	BadSignature    string      `json:"bad_signature,omitempty"`     // wrong_key | signtest, on 2xx answers
	TimestampSkew   Duration    `json:"timestamp_skew,omitempty"`    // added to Wechatpay-Timestamp of 2xx answers
	// Times, when > 0, limits these faults to the next Times requests; the
	// sandbox then clears them. An outage with a Duration ends on its own.
	Times int `json:"times,omitempty"`
}

// Outage makes every request fail, for Duration or until cleared (0).
type Outage struct {
	Mode     string   `json:"mode"`               // OutageUnavailable or OutageDrop
	Duration Duration `json:"duration,omitempty"` // 0 = until the faults are replaced or cleared
}

// Rejection answers requests of one sub-merchant and/or one order with a
// fixed error, after the signature and body checks pass. Empty SubMchID or
// OrderNo match any.
type Rejection struct {
	SubMchID string `json:"sub_mchid,omitempty"`
	OrderNo  string `json:"out_order_no,omitempty"`
	Status   int    `json:"status,omitempty"`  // default 400
	Code     string `json:"code,omitempty"`    // default INVALID_REQUEST
	Message  string `json:"message,omitempty"` // default "rejected by the sandbox"
}

func (f Faults) validate() error {
	for _, r := range []float64{f.TimeoutRate, f.ServerErrorRate, f.RateLimitRate, f.AcceptedRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("rate %v outside [0,1]: %w", r, ErrBadFaults)
		}
	}
	if f.Latency < 0 || f.LatencyJitter < 0 || f.RetryAfter < 0 || f.Times < 0 {
		return fmt.Errorf("negative duration or times: %w", ErrBadFaults)
	}
	switch f.BadSignature {
	case "", BadSignatureWrongKey, BadSignatureSignTest:
	default:
		return fmt.Errorf("bad_signature %q: %w", f.BadSignature, ErrBadFaults)
	}
	if f.Outage != nil && f.Outage.Mode != OutageUnavailable && f.Outage.Mode != OutageDrop {
		return fmt.Errorf("outage mode %q: %w", f.Outage.Mode, ErrBadFaults)
	}
	for _, r := range f.Rejections {
		if r.Status != 0 && (r.Status < 400 || r.Status > 599) {
			return fmt.Errorf("rejection status %d: %w", r.Status, ErrBadFaults)
		}
	}
	return nil
}

func roll(rate float64) bool { return rate > 0 && rand.Float64() < rate }

func (f Faults) delay() time.Duration {
	d := time.Duration(f.Latency)
	if f.LatencyJitter > 0 {
		d += rand.N(time.Duration(f.LatencyJitter))
	}
	return d
}

func (f Faults) rejectionFor(subMchID, orderNo string) (Rejection, bool) {
	for _, r := range f.Rejections {
		if (r.SubMchID == "" || r.SubMchID == subMchID) && (r.OrderNo == "" || r.OrderNo == orderNo) {
			if r.Status == 0 {
				r.Status = http.StatusBadRequest
			}
			if r.Code == "" {
				r.Code = "INVALID_REQUEST"
			}
			if r.Message == "" {
				r.Message = "rejected by the sandbox"
			}
			return r, true
		}
	}
	return Rejection{}, false
}

// SetFaults replaces the injected faults. An outage with a Duration starts now.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.outageUntil = time.Time{}
	if f.Outage != nil && f.Outage.Duration > 0 {
		s.outageUntil = now.Add(time.Duration(f.Outage.Duration))
	}
	return nil
}

// ClearFaults stops all fault injection.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = Faults{}
	s.outageUntil = time.Time{}
}

// Faults returns the faults in force (Times counts down as requests arrive).
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	f.Rejections = append([]Rejection(nil), f.Rejections...)
	if f.Outage != nil {
		o := *f.Outage
		f.Outage = &o
	}
	return f
}

// takeFaults returns the faults that apply to one request and whether an
// outage is in force, counting down Times.
func (s *Server) takeFaults(now time.Time) (Faults, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	outage := f.Outage != nil && (s.outageUntil.IsZero() || now.Before(s.outageUntil))
	if f.Outage != nil && !outage {
		s.faults.Outage = nil // a timed outage is over
		f.Outage = nil
	}
	if f.Times > 0 {
		s.faults.Times--
		if s.faults.Times == 0 {
			s.faults = Faults{}
			s.outageUntil = time.Time{}
		}
	}
	return f, outage
}

// handleFaults serves /sandbox/faults: GET the faults, PUT replaces them
// (JSON Faults), DELETE clears them.
func (s *Server) handleFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.Faults())
	case http.MethodPut:
		var f Faults
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if err := s.SetFaults(f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, f)
	case http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
