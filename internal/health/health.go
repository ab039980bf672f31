// Package health serves the worker's operational endpoints: /healthz (the
// process is alive and making progress), /readyz (it can deliver now) and
// /metrics (Prometheus).
package health

import (
	"fmt"
	"net/http"
	"strings"
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

// somePaused is an Uploader of several accounts (merchants.Router): one of
// them paused explains commits that do not move, as a pause does.
type somePaused interface {
	SomePaused() bool
}

// Group is the consumer's group membership. Safe for concurrent use.
type Group interface {
	// Joined reports whether the consumer is a member of a generation now,
	// and since when that has been so.
	Joined() (joined bool, since time.Time)
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
	// Group, when set, fails /healthz once the consumer has been out of its
	// group for longer than NotJoinedAfter (credentials revoked, a broker
	// that never answers): a restart may cure it, and it must not look alive.
	Group          Group
	NotJoinedAfter time.Duration
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

// Starting returns the mux for the time before the checks exist (the
// start-up topic checks): /healthz 200, /readyz 503 "starting: " and why,
// /metrics from reg.
func Starting(why string, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { answer(w, "") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { answer(w, "starting: "+why) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

// live fails when the consumer has been out of its group for NotJoinedAfter,
// or when work is pending, uploads are not paused, and nothing was committed
// for StallAfter: a stuck process a restart would cure.
func (c Checks) live() string {
	if c.Group != nil {
		if joined, since := c.Group.Joined(); !joined && !since.IsZero() && c.Now().Sub(since) > c.NotJoinedAfter {
			return fmt.Sprintf("not in consumer group for %s", c.Now().Sub(since).Round(time.Second))
		}
	}
	last, pending := c.Consumer.Progress()
	if pending == 0 {
		return ""
	}
	if paused, _ := c.Uploader.Paused(); paused {
		return ""
	}
	if sp, ok := c.Uploader.(somePaused); ok && sp.SomePaused() {
		return "" // a paused account holds back its partitions' commits
	}
	if since := c.Now().Sub(last); !last.IsZero() && since > c.StallAfter {
		return fmt.Sprintf("stalled: %d events pending and no commit for %s", pending, since.Round(time.Second))
	}
	return ""
}

// ready answers with short reasons: what is wrong, not the addresses and
// errors behind it, which the worker logs when the state changes.
func (c Checks) ready() string {
	if ok, why := c.Consumer.Ready(); !ok {
		return "not ready: " + firstParts(why, 2)
	}
	if paused, why := c.Uploader.Paused(); paused {
		return "paused: " + firstParts(why, 1)
	}
	if c.Ledger != nil {
		if ok, why := c.Ledger.Healthy(); !ok {
			return "not ready: " + why
		}
	}
	return ""
}

// firstParts returns the first n parts of a reason whose parts are joined
// by ": ", at most maxReason characters of them.
func firstParts(why string, n int) string {
	parts := strings.SplitN(why, ": ", n+1)
	out := strings.Join(parts[:min(n, len(parts))], ": ")
	if r := []rune(out); len(r) > maxReason {
		out = string(r[:maxReason]) + "…"
	}
	return out
}

// maxReason bounds a reason on /readyz.
const maxReason = 120

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
