package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Worker is a worker process started from its binary.
type Worker struct {
	cmd *exec.Cmd
	// HTTPAddr serves its /metrics, /healthz and /readyz.
	HTTPAddr string
	exited   chan struct{}
	err      error
}

// StartWorker runs binary with env (see WorkerEnv) and a free loopback
// ORDERSYNC_HTTP_ADDR, its logs going to logs.
func StartWorker(binary string, env []string, logs io.Writer) (*Worker, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "run")
	cmd.Env = append(env, "ORDERSYNC_HTTP_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", binary, err)
	}
	w := &Worker{cmd: cmd, HTTPAddr: addr, exited: make(chan struct{})}
	go func() { w.err = cmd.Wait(); close(w.exited) }()
	return w, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// Pid is the worker's process id (for /proc/<pid>/stat and status).
func (w *Worker) Pid() int { return w.cmd.Process.Pid }

// Signal sends sig to the process.
func (w *Worker) Signal(sig os.Signal) error { return w.cmd.Process.Signal(sig) }

// Kill ends the process at once (SIGKILL) and waits for it.
func (w *Worker) Kill() {
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.exited
}

// Wait waits up to timeout for the process to exit and returns its exit
// status; on timeout it kills the process and returns an error.
func (w *Worker) Wait(timeout time.Duration) (int, error) {
	select {
	case <-w.exited:
	case <-time.After(timeout):
		w.Kill()
		return -1, fmt.Errorf("worker did not exit within %s", timeout)
	}
	var exitErr *exec.ExitError
	if errors.As(w.err, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	if w.err != nil {
		return -1, w.err
	}
	return 0, nil
}

// Exited is closed when the process has exited.
func (w *Worker) Exited() <-chan struct{} { return w.exited }

// Metrics scrapes /metrics and returns each sample as "name{labels}" → value,
// plus each family's total under its bare name. A histogram gives only the
// totals of its sum and count, as name_sum and name_count; for its buckets
// see Histogram.
func (w *Worker) Metrics(ctx context.Context) (map[string]float64, error) {
	families, err := w.scrape(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var v float64
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[name+"_sum"] += m.GetHistogram().GetSampleSum()
				out[name+"_count"] += float64(m.GetHistogram().GetSampleCount())
				continue
			default:
				continue
			}
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[name+"{"+strings.Join(labels, ",")+"}"] = v
			out[name] += v
		}
	}
	return out, nil
}

// Bucket is one cumulative histogram bucket: Count observations ≤ UpperBound.
type Bucket struct {
	UpperBound float64
	Count      uint64
}

// Histogram scrapes /metrics and returns the cumulative buckets of the
// histogram family name, summed over its label sets, in increasing bound
// order (without the +Inf bucket), and the total observation count.
func (w *Worker) Histogram(ctx context.Context, name string) ([]Bucket, uint64, error) {
	families, err := w.scrape(ctx)
	if err != nil {
		return nil, 0, err
	}
	f, ok := families[name]
	if !ok || f.GetType() != dto.MetricType_HISTOGRAM {
		return nil, 0, fmt.Errorf("worker metrics: no histogram %s", name)
	}
	var buckets []Bucket
	var total uint64
	for i, m := range f.GetMetric() {
		h := m.GetHistogram()
		total += h.GetSampleCount()
		for j, b := range h.GetBucket() {
			if math.IsInf(b.GetUpperBound(), 1) {
				break
			}
			if i == 0 {
				buckets = append(buckets, Bucket{UpperBound: b.GetUpperBound()})
			}
			if j < len(buckets) {
				buckets[j].Count += b.GetCumulativeCount()
			}
		}
	}
	return buckets, total, nil
}

func (w *Worker) scrape(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+w.HTTPAddr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape worker metrics: %w", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse worker metrics: %w", err)
	}
	return families, nil
}

// Get fetches one of the worker's endpoints and returns its status and body.
func (w *Worker) Get(ctx context.Context, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+w.HTTPAddr+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
