package main

import (
	"bufio"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/stack"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    time.Duration
		wantErr bool
	}{
		{
			name: "plain",
			give: "4242 (worker) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 100 0 0",
			want: 3250 * time.Millisecond,
		},
		{
			name: "command with spaces and parentheses",
			give: "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 100 0 0",
			want: 30 * time.Millisecond,
		},
		{name: "no command", give: "4242 worker S 1", wantErr: true},
		{name: "short", give: "1 (x) S 1 2 3", wantErr: true},
		{name: "not a number", give: "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 2 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat(tt.give)
			if tt.wantErr {
				if !errors.Is(err, errProcFormat) {
					t.Fatalf("err %v, want errProcFormat", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    memory
		wantErr bool
	}{
		{
			name: "both",
			give: "Name:\tworker\nVmPeak:\t 999 kB\nVmHWM:\t   2048 kB\nVmRSS:\t    1024 kB\nThreads:\t9\n",
			want: memory{RSS: 1 << 20, HWM: 2 << 20},
		},
		{name: "missing", give: "Name:\tworker\nVmRSS:\t1024 kB\n", wantErr: true},
		{name: "unit", give: "VmHWM:\t2 MB\nVmRSS:\t1 MB\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus(bufio.NewScanner(strings.NewReader(tt.give)))
			if tt.wantErr {
				if !errors.Is(err, errProcFormat) {
					t.Fatalf("err %v, want errProcFormat", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestProcSelf reads this test process's own /proc files.
func TestProcSelf(t *testing.T) {
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	m, err := procMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS == 0 || m.HWM < m.RSS {
		t.Fatalf("memory %+v: want 0 < RSS ≤ HWM", m)
	}
}

func TestQuantile(t *testing.T) {
	buckets := []stack.Bucket{{UpperBound: 0.1, Count: 50}, {UpperBound: 0.2, Count: 90}, {UpperBound: 0.4, Count: 100}}
	tests := []struct {
		name      string
		giveQ     float64
		giveTotal uint64
		want      time.Duration
		wantOver  bool
	}{
		{name: "inside the first bucket", giveQ: 0.25, giveTotal: 100, want: 50 * time.Millisecond},
		{name: "on a bound", giveQ: 0.5, giveTotal: 100, want: 100 * time.Millisecond},
		{name: "interpolated", giveQ: 0.7, giveTotal: 100, want: 150 * time.Millisecond},
		{name: "last bucket", giveQ: 0.99, giveTotal: 100, want: 380 * time.Millisecond},
		{name: "beyond the last bound", giveQ: 0.99, giveTotal: 200, want: 400 * time.Millisecond, wantOver: true},
		{name: "empty", giveQ: 0.5, giveTotal: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, over := quantile(tt.giveQ, buckets, tt.giveTotal)
			if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond || over != tt.wantOver {
				t.Fatalf("got %v over=%v; want %v over=%v", got, over, tt.want, tt.wantOver)
			}
		})
	}
}

func TestQuartiles(t *testing.T) {
	got := quartiles([]rssSample{{1, 10}, {25, 30}, {26, 20}, {80, 40}, {100, 35}}, 100)
	want := []uint64{30, 20, 0, 40}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestVerdicts(t *testing.T) {
	tests := []struct {
		name string
		give []result
		want []bool
	}{
		{
			name: "no-latency passes",
			give: []result{{Case: caseNoLatency, PerSecond: 1100, SignRate: 2000, Efficiency: 0.81, ExclSign: 100 * time.Microsecond}},
			want: []bool{true, true, true},
		},
		{
			name: "no-latency misses all three",
			give: []result{{Case: caseNoLatency, PerSecond: 990, SignRate: 2000, Efficiency: 0.79, ExclSign: 151 * time.Microsecond}},
			want: []bool{false, false, false},
		},
		{
			name: "no-latency against the baseline build",
			give: []result{
				{Case: caseNoLatency, PerSecond: 1300, SignRate: 2000, Efficiency: 0.8, ExclSign: 100 * time.Microsecond},
				{Case: caseNoLatency, Baseline: true, PerSecond: 1000, SignRate: 2000, Efficiency: 0.5, ExclSign: 400 * time.Microsecond},
			},
			want: []bool{true, true, true, true},
		},
		{
			name: "no-latency below 1.3 × the baseline",
			give: []result{
				{Case: caseNoLatency, PerSecond: 1299, SignRate: 2000, Efficiency: 0.8, ExclSign: 100 * time.Microsecond},
				{Case: caseNoLatency, Baseline: true, PerSecond: 1000, SignRate: 2000},
			},
			want: []bool{true, true, false, true},
		},
		{
			name: "latency bound by in-flight",
			give: []result{{Case: caseLatency256, InFlight: 256, APILatency: 100 * time.Millisecond, PerSecond: 1500, SignRate: 4000}},
			want: []bool{false},
		},
		{
			name: "latency bound by signing",
			give: []result{{Case: caseLatency256, InFlight: 256, APILatency: 100 * time.Millisecond, PerSecond: 1200, SignRate: 2000}},
			want: []bool{true},
		},
		{
			name: "backlog flat and small",
			give: []result{{Case: caseBacklog, PeakRSS: 100 << 20, RSS: []uint64{90 << 20, 95 << 20, 96 << 20, 100 << 20}, ExclSign: time.Microsecond}},
			want: []bool{true, true, true},
		},
		{
			name: "backlog growing and big",
			give: []result{{Case: caseBacklog, PeakRSS: 200 << 20, RSS: []uint64{50 << 20, 80 << 20, 140 << 20, 200 << 20}, ExclSign: time.Microsecond}},
			want: []bool{false, false, true},
		},
		{
			name: "latency-1 has no target",
			give: []result{{Case: caseLatency1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := verdicts(tt.give)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d verdicts %+v, want %d", len(got), got, len(tt.want))
			}
			for i, v := range got {
				if v.Pass != tt.want[i] {
					t.Errorf("%s: pass %v, want %v (%s)", v.Target, v.Pass, tt.want[i], v.Got)
				}
			}
		})
	}
}

func TestEfficiencyIsTheFastestSignatureOverWorkerCPU(t *testing.T) {
	r := result{PerSecond: 1500, CPUPerEvent: 1000 * time.Microsecond}
	r.setSigning(signing{PerSecond: 2700, Single: 700 * time.Microsecond}, signing{PerSecond: 2700, Single: 800 * time.Microsecond})
	if math.Abs(r.Efficiency-0.75) > 1e-9 {
		t.Fatalf("efficiency %v, want 750 µs ÷ 1000 µs = 0.75", r.Efficiency)
	}
	if line := r.line(); !strings.Contains(line, "efficiency 0.75") || !strings.Contains(line, "fastest signature 750 µs") {
		t.Errorf("line %q does not show the efficiency and the fastest signature", line)
	}
}

func TestParseVersionCrypto(t *testing.T) {
	for _, tt := range []struct{ give, want string }{
		{"ordersync v1.2.3 crypto=boringcrypto\n", "boringcrypto"},
		{"ordersync dev crypto=go\n", "go"},
		{"ordersync dev\n", "unknown"},
	} {
		if got := parseVersionCrypto(tt.give); got != tt.want {
			t.Errorf("parseVersionCrypto(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestSpecs(t *testing.T) {
	o := options{cases: allCases, events: 10, inFlight: 64, latency: time.Millisecond, latencyOrders: 5, latency1: 3, backlog: 7}
	got, err := specs(o)
	if err != nil || len(got) != len(allCases) {
		t.Fatalf("specs: %v, %v", got, err)
	}
	if got[0].partitions != 6 || got[0].inFlight != 64 || got[0].latency != 0 || got[0].events != 10 {
		t.Errorf("no-latency spec %+v", got[0])
	}
	if got[3].partitions != 1 || got[3].inFlight != 256 || got[3].orders != 5 || got[3].latency != time.Millisecond {
		t.Errorf("latency-256 spec %+v", got[3])
	}
	o.cases = []string{"nope"}
	if _, err := specs(o); err == nil {
		t.Fatal("unknown case accepted")
	}
	o.cases, o.backlog = allCases, 0
	if _, err := specs(o); err == nil {
		t.Fatal("zero backlog accepted")
	}
}

func TestUploadsKeepsOrderOfUploadingEvents(t *testing.T) {
	evs := sample.Generate(sample.Options{Seed: 3, Orders: 40, Interleave: true, InvalidPercent: 20})
	got := uploads(append([]sample.Event(nil), evs...))
	var want []string
	for _, e := range evs {
		if e.Expect == sample.ExpectDelivered {
			want = append(want, e.EventID)
		}
	}
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("got %d uploads, want %d", len(got), len(want))
	}
	for i, e := range got {
		if e.EventID != want[i] {
			t.Fatalf("upload %d is %s, want %s", i, e.EventID, want[i])
		}
	}
}

func TestSetSigningAveragesBeforeAndAfter(t *testing.T) {
	r := result{PerSecond: 1500, CPUPerEvent: 1200 * time.Microsecond}
	r.setSigning(signing{PerSecond: 1800, Single: 900 * time.Microsecond}, signing{PerSecond: 2200, Single: 1100 * time.Microsecond})
	if r.SignRate != 2000 || r.SignCPU != time.Millisecond || r.Ratio != 0.75 || r.ExclSign != 200*time.Microsecond {
		t.Fatalf("got rate %v cpu %v ratio %v excl %v", r.SignRate, r.SignCPU, r.Ratio, r.ExclSign)
	}
}

func TestSetSigningSubtractsTheWorkersSignatures(t *testing.T) {
	r := result{PerSecond: 1500, CPUPerEvent: 1200 * time.Microsecond, HarnessCPU: 300 * time.Microsecond,
		Signs: 100, SignCPUDuring: 1000 * time.Microsecond, WorkerSignCPU: 1050 * time.Microsecond}
	r.setSigning(signing{PerSecond: 2000, Single: 900 * time.Microsecond}, signing{PerSecond: 2000, Single: 900 * time.Microsecond})
	if r.ExclSign != 150*time.Microsecond {
		t.Errorf("excl %v, want the worker's 1050 µs of signing per event subtracted", r.ExclSign)
	}
	if want := 1000.0 / 1500; math.Abs(r.CPURatio-want) > 1e-9 {
		t.Errorf("cpu ratio %v, want %v", r.CPURatio, want)
	}
	r.Signs, r.CPURatio = 0, 0
	r.setSigning(signing{PerSecond: 2000, Single: 900 * time.Microsecond}, signing{PerSecond: 2000, Single: 900 * time.Microsecond})
	if r.ExclSign != 300*time.Microsecond || r.CPURatio != 0 {
		t.Errorf("excl %v, cpu ratio %v without worker figures; want the before/after 900 µs subtracted, no ratio", r.ExclSign, r.CPURatio)
	}
}

func TestDriftNote(t *testing.T) {
	if n := (result{SignRates: [2]float64{1000, 1090}}).driftNote(); n != "" {
		t.Errorf("9 %% apart: %q, want no note", n)
	}
	if n := (result{SignRates: [2]float64{1200, 1000}}).driftNote(); !strings.Contains(n, "moved 20 %") {
		t.Errorf("20 %% apart: %q", n)
	}
}

func TestCaseTimeout(t *testing.T) {
	tests := []struct {
		name       string
		giveFlag   time.Duration
		giveEvents int
		want       time.Duration
	}{
		{name: "flag wins", giveFlag: time.Minute, giveEvents: 1000000, want: time.Minute},
		{name: "scaled to 1 M events", giveEvents: 1000000, want: 5*time.Minute + 5000*time.Second},
		{name: "small case", giveEvents: 100, want: 5*time.Minute + 500*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := caseTimeout(tt.giveFlag, tt.giveEvents); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
