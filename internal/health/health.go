// Package health serves the worker's operational endpoints: /healthz (the
// process is alive and making progress), /readyz (it can deliver now) and
// /metrics (Prometheus).
package health

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Consumer is the part of the consumer the checks read. Safe for concurrent use.
type Consumer interface {
	// Ready reports whether the group is joined, and why not.
	Ready() (bool, string)
	// Progress returns the time of the last commit and the events pending.
	Progress() (lastCommit time.Time, pending int)
}

// Uploader is the part of the uploader the checks read. Safe for concurrent use.
type Uploader interface {
	// Paused reports whether uploads are paused by an outage or a signing fault, and why.
	Paused() (bool, string)
}

// Ledger is the part of the delivery ledger the checks read. Safe for
// concurrent use.
type Ledger interface {
	// Healthy reports false, and why, while ledger writes fail (commits stall).
	Healthy() (bool, string)
}

// Checks holds what the endpoints look at.
type Checks struct {
	Consumer Consumer
	Uploader Uploader
	// Ledger is nil when the ledger is off.
	Ledger Ledger
	// StallAfter is how long pending work may go without a commit, while
	// uploads are not paused, before /healthz fails.
	StallAfter time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Handler returns a mux serving /healthz, /readyz and /metrics from reg.
func Handler(c Checks, reg *prometheus.Registry) http.Handler {
	if c.Now == nil {
		c.Now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { answer(w, c.live()) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { answer(w, c.ready()) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

// live fails only when work is pending, uploads are not paused, and nothing
// was committed for StallAfter: a stuck process a restart would cure.
func (c Checks) live() string {
	last, pending := c.Consumer.Progress()
	if pending == 0 {
		return ""
	}
	if paused, _ := c.Uploader.Paused(); paused {
		return ""
	}
	if since := c.Now().Sub(last); !last.IsZero() && since > c.StallAfter {
		return fmt.Sprintf("stalled: %d events pending and no commit for %s", pending, since.Round(time.Second))
	}
	return ""
}

func (c Checks) ready() string {
	if ok, why := c.Consumer.Ready(); !ok {
		return "not ready: " + why
	}
	if paused, why := c.Uploader.Paused(); paused {
		return "paused: " + why
	}
	if c.Ledger != nil {
		if ok, why := c.Ledger.Healthy(); !ok {
			return "not ready: " + why
		}
	}
	return ""
}

// answer writes 200 "ok" for an empty problem, else 503 with the problem.
func answer(w http.ResponseWriter, problem string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if problem == "" {
		_, _ = fmt.Fprintln(w, "ok")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = fmt.Fprintln(w, problem)
}
