package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/ordersync/ordersync/internal/buildcrypto"
	"github.com/ordersync/ordersync/internal/stack"
)

// quantile estimates the q-quantile of a cumulative histogram the way
// Prometheus's histogram_quantile does: linear interpolation inside the
// bucket that holds the rank, the lowest bucket starting at 0. over is true
// when the rank lies above the highest finite bound, whose value is returned.
func quantile(q float64, buckets []stack.Bucket, total uint64) (v time.Duration, over bool) {
	if total == 0 || len(buckets) == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var lower float64
	var below uint64
	for _, b := range buckets {
		if float64(b.Count) >= rank {
			in := b.Count - below
			frac := 1.0
			if in > 0 {
				frac = (rank - float64(below)) / float64(in)
			}
			secs := lower + (b.UpperBound-lower)*frac
			return time.Duration(secs * float64(time.Second)), false
		}
		lower, below = b.UpperBound, b.Count
	}
	return time.Duration(lower * float64(time.Second)), true
}

// latency is a p50/p99 pair taken from one histogram.
type latency struct {
	P50     time.Duration `json:"p50_ns"`
	P99     time.Duration `json:"p99_ns"`
	P99Over bool          `json:"p99_above_last_bucket,omitempty"`
}

func latencyOf(buckets []stack.Bucket, total uint64) latency {
	p50, _ := quantile(0.50, buckets, total)
	p99, over := quantile(0.99, buckets, total)
	return latency{P50: p50, P99: p99, P99Over: over}
}

func (l latency) String() string {
	p99 := short(l.P99)
	if l.P99Over {
		p99 = ">" + p99
	}
	return "p50 " + short(l.P50) + " p99 " + p99
}

// short renders d with three significant digits.
func short(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
}

func mb(bytes uint64) float64 { return float64(bytes) / (1 << 20) }

// result is the outcome of one case.
type result struct {
	Case string `json:"case"`
	// Worker is the binary that ran, WorkerCrypto what it signs with (its
	// `worker version`), and Baseline marks the run of --baseline.
	Worker       string        `json:"worker"`
	WorkerCrypto string        `json:"worker_crypto"`
	Baseline     bool          `json:"baseline,omitempty"`
	Partitions   int           `json:"partitions"`
	InFlight     int           `json:"in_flight"`
	APILatency   time.Duration `json:"api_latency_ns"`
	Events       int           `json:"events"`
	// Measured is the number of deliveries inside the timed window (from
	// the first delivery to the last).
	Measured  int64         `json:"measured_events"`
	Window    time.Duration `json:"window_ns"`
	PerSecond float64       `json:"events_per_second"`
	// EndToEnd is Kafka record timestamp → 204, from the worker's
	// ordersync_end_to_end_latency_seconds; Upload is one request, from
	// ordersync_upload_duration_seconds.
	EndToEnd latency `json:"end_to_end"`
	Upload   latency `json:"upload"`
	// CPUPerEvent is the worker process's utime+stime over the window
	// divided by Measured; ExclSign subtracts WorkerSignCPU, or where the
	// worker cannot time its signatures the mean of SignCPU.
	CPUPerEvent time.Duration `json:"cpu_per_event_ns"`
	ExclSign    time.Duration `json:"cpu_per_event_excl_signature_ns"`
	// HarnessCPU is the bench process's own utime+stime over the same
	// window divided by Measured: kfake serving fetches, the sandbox
	// verifying and validating each request. It runs on the same cores.
	HarnessCPU time.Duration `json:"harness_cpu_per_event_ns"`
	PeakRSS    uint64        `json:"peak_rss_bytes"`
	// RSS holds the worker's resident set at 25, 50, 75 and 100 % of the
	// deliveries.
	RSS []uint64 `json:"rss_quartiles_bytes"`
	// SignRate is signatures/s on all cores and SignCPU the CPU time of one
	// signature on one core: the means of SignRates, measured just before
	// and just after the case, and of the matching single-core costs.
	SignRates [2]float64    `json:"signs_per_second_before_after"`
	SignRate  float64       `json:"signs_per_second_all_cores"`
	SignCPU   time.Duration `json:"sign_cpu_ns"`
	// Signs is the number of request signatures the worker made inside the
	// window and SignCPUDuring their mean CPU time, from the worker's
	// ordersync_signature_cpu_seconds; WorkerSignCPU is their CPU time
	// divided by Measured.
	Signs         int64         `json:"worker_signs"`
	SignCPUDuring time.Duration `json:"worker_sign_cpu_ns"`
	WorkerSignCPU time.Duration `json:"worker_sign_cpu_per_event_ns"`
	Ratio         float64       `json:"ratio_to_signing_rate"`
	// CPURatio is SignCPUDuring ÷ (CPUPerEvent + HarnessCPU): the ratio a
	// saturated machine gives when a signature costs what it cost in the
	// worker during the case. Unlike Ratio it does not move when the
	// machine's speed drifts between the signing measurements and the
	// case; a diagnostic, not what the target is judged on. 0 without the
	// worker's signature figures.
	CPURatio float64 `json:"cpu_ratio"`
	// Efficiency is SignCPU ÷ CPUPerEvent: the fastest signature this
	// machine makes (BoringCrypto when the bench is built with it) over
	// what the worker spends per delivered event.
	Efficiency float64 `json:"efficiency"`
	// Load is /proc/loadavg's 1-minute figure at the start and the end.
	Load        [2]float64 `json:"load_1m"`
	SandboxRecv int64      `json:"sandbox_accepted"`
	// SandboxChecked is how many requests the sandbox verified and
	// validated (all of them when CheckEvery is 1).
	SandboxChecked int64 `json:"sandbox_checked"`
}

func (r result) line() string {
	lat := ""
	if r.APILatency > 0 {
		lat = " api " + short(r.APILatency)
	}
	return fmt.Sprintf("%-11s %s p=%d in-flight=%d%s events=%d: %.0f events/s | CPU %.0f µs/event, fastest signature %.0f µs, efficiency %.2f | e2e %s | upload %s | excl. signature %.0f µs; harness %.0f µs | peak RSS %.1f MB | signing %.0f/s (%.0f→%.0f), %.0f µs in the worker | ratio %.2f (%.2f at the worker's signing cost) | load %.1f→%.1f",
		r.Case, r.cryptoLabel(), r.Partitions, r.InFlight, lat, r.Events, r.PerSecond, us(r.CPUPerEvent), us(r.SignCPU), r.Efficiency, r.EndToEnd, r.Upload,
		us(r.ExclSign), us(r.HarnessCPU), mb(r.PeakRSS), r.SignRate, r.SignRates[0], r.SignRates[1], us(r.SignCPUDuring), r.Ratio, r.CPURatio, r.Load[0], r.Load[1])
}

// cryptoLabel is "[boringcrypto]" or "[go]", with "baseline" for the run of --baseline.
func (r result) cryptoLabel() string {
	if r.Baseline {
		return "[" + r.WorkerCrypto + " baseline]"
	}
	return "[" + r.WorkerCrypto + "]"
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// verdict is one issue-7 target checked against this run's figures.
type verdict struct {
	Target string `json:"target"`
	Got    string `json:"got"`
	Pass   bool   `json:"pass"`
}

func (v verdict) line() string {
	s := "MISS"
	if v.Pass {
		s = "PASS"
	}
	return fmt.Sprintf("%s  %s: %s", s, v.Target, v.Got)
}

// Targets (docs/benchmarks.md): throughput against the fastest signature,
// memory, and CPU beside the signature.
const (
	minEfficiency   = 0.80 // no-latency: fastest signature ÷ worker CPU per event
	noLatencyShare  = 0.50 // no-latency: events/s ÷ signing rate on all cores
	latencyShare    = 0.60 // latency-256: events/s ÷ min(in-flight / latency, signing rate)
	minSpeedup      = 1.3  // no-latency: events/s ÷ the baseline build's, back to back
	maxPeakRSS      = 150 << 20
	maxExclSignCPU  = 150 * time.Microsecond
	flatGrowthLimit = 1.10 // second-half peak RSS ≤ this × first-half peak
)

// driftLimit is how far apart the signing rates before and after a case may
// be before the verdict warns that the machine's speed moved.
const driftLimit = 0.10

// driftNote warns when the signing rate moved more than driftLimit between
// the measurements around the case.
func (r result) driftNote() string {
	lo, hi := min(r.SignRates[0], r.SignRates[1]), max(r.SignRates[0], r.SignRates[1])
	if lo <= 0 || hi/lo-1 <= driftLimit {
		return ""
	}
	return fmt.Sprintf("; the signing rate moved %.0f %% across the case, so the machine's speed drifted: rerun to judge", 100*(hi/lo-1))
}

// verdicts checks every target whose case ran; runs of --baseline are only
// the reference of the speed-up.
func verdicts(results []result) []verdict {
	var out []verdict
	var baseline *result
	for i := range results {
		if results[i].Baseline && results[i].Case == caseNoLatency {
			baseline = &results[i]
		}
	}
	for _, r := range results {
		if r.Baseline {
			continue
		}
		switch r.Case {
		case caseNoLatency:
			want := noLatencyShare * r.SignRate
			out = append(out, verdict{
				Target: fmt.Sprintf("%s: efficiency (fastest signature ÷ worker CPU per event) ≥ %.2f", r.Case, minEfficiency),
				Got:    fmt.Sprintf("%.0f µs ÷ %.0f µs = %.2f", us(r.SignCPU), us(r.CPUPerEvent), r.Efficiency),
				Pass:   r.Efficiency >= minEfficiency,
			}, verdict{
				Target: fmt.Sprintf("%s: events/s ≥ %.2f × signing rate on all cores", r.Case, noLatencyShare),
				Got:    fmt.Sprintf("%.0f vs %.0f (ratio %.2f)%s", r.PerSecond, want, r.Ratio, r.driftNote()),
				Pass:   r.PerSecond >= want,
			})
			if baseline != nil {
				out = append(out, verdict{
					Target: fmt.Sprintf("%s: events/s ≥ %.1f × the %s baseline's, back to back", r.Case, minSpeedup, baseline.WorkerCrypto),
					Got:    fmt.Sprintf("%.0f vs %.0f (%.2f×)", r.PerSecond, baseline.PerSecond, r.PerSecond/baseline.PerSecond),
					Pass:   r.PerSecond >= minSpeedup*baseline.PerSecond,
				})
			}
		case caseLatency256:
			bound := math.Min(float64(r.InFlight)/r.APILatency.Seconds(), r.SignRate)
			want := latencyShare * bound
			out = append(out, verdict{
				Target: fmt.Sprintf("%s: events/s ≥ %.2f × min(%d / %s, signing rate)", r.Case, latencyShare, r.InFlight, short(r.APILatency)),
				Got:    fmt.Sprintf("%.0f vs %.0f", r.PerSecond, want),
				Pass:   r.PerSecond >= want,
			})
		case caseBacklog:
			out = append(out, verdict{
				Target: fmt.Sprintf("%s: peak RSS ≤ %d MB", r.Case, maxPeakRSS>>20),
				Got:    fmt.Sprintf("%.1f MB over %d events", mb(r.PeakRSS), r.Events),
				Pass:   r.PeakRSS <= maxPeakRSS,
			}, flatness(r))
		}
		if r.Case == caseNoLatency || r.Case == caseBacklog {
			out = append(out, verdict{
				Target: fmt.Sprintf("%s: CPU per event excluding the signature ≤ %.0f µs", r.Case, us(maxExclSignCPU)),
				Got:    fmt.Sprintf("%.0f µs", us(r.ExclSign)),
				Pass:   r.ExclSign <= maxExclSignCPU,
			})
		}
	}
	return append(out, mappingVerdicts(results)...)
}

// flatness passes when the resident set of the second half of the run stays
// within flatGrowthLimit of the first half's peak.
func flatness(r result) verdict {
	v := verdict{Target: fmt.Sprintf("%s: RSS flat (second-half peak ≤ %.2f × first-half peak)", r.Case, flatGrowthLimit)}
	if len(r.RSS) != 4 {
		v.Got = "no RSS samples"
		return v
	}
	first, second := max(r.RSS[0], r.RSS[1]), max(r.RSS[2], r.RSS[3])
	parts := make([]string, len(r.RSS))
	for i, b := range r.RSS {
		parts[i] = fmt.Sprintf("%.1f", mb(b))
	}
	v.Got = "RSS at 25/50/75/100 %: " + strings.Join(parts, " / ") + " MB"
	v.Pass = float64(second) <= flatGrowthLimit*float64(first)
	return v
}

func printHeader(w io.Writer, h header) {
	fmt.Fprintf(w, "%s\nmachine: %d CPUs (%s), %s; the sandbox, kfake and the producer share them with the worker; the sandbox checks the signature and body of 1 request in %d\n",
		h.Command, h.CPUs, h.Model, h.GoVersion, h.CheckEvery)
	fmt.Fprintf(w, "worker %s signs with %s", h.Worker, h.WorkerCrypto)
	if h.Baseline != "" {
		fmt.Fprintf(w, "; baseline %s with %s", h.Baseline, h.BaselineCrypto)
	}
	fmt.Fprintf(w, "; the fastest signature is measured here with %s", h.SignCrypto)
	if h.SignCrypto != buildcrypto.Boring {
		fmt.Fprint(w, " (this bench was not built with BoringCrypto: make bench does that where it can)")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "each case: RSA-2048 SHA256withRSA signing rate on all cores and CPU of one signature on one core (the fastest signature) = mean of runs just before and just after it; efficiency = fastest signature ÷ worker CPU per event; e2e = Kafka timestamp → 204 of a pre-produced backlog (includes the wait in the backlog), upload = one request, both from the worker's histograms")
}

// header is what the run says about itself before the cases.
type header struct {
	Command   string `json:"command"`
	CPUs      int    `json:"cpus"`
	Model     string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	// CheckEvery is the sandbox's sandbox.Config.CheckEvery.
	CheckEvery int `json:"sandbox_check_every"`
	// Worker and Baseline are the binaries, *Crypto what they sign with;
	// SignCrypto is what this process measures the fastest signature with.
	Worker         string `json:"worker"`
	WorkerCrypto   string `json:"worker_crypto"`
	Baseline       string `json:"baseline,omitempty"`
	BaselineCrypto string `json:"baseline_crypto,omitempty"`
	SignCrypto     string `json:"sign_crypto"`
}
