package stack

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const exposition = `# TYPE lat histogram
lat_bucket{topic="a",le="0.1"} 2
lat_bucket{topic="a",le="1"} 5
lat_bucket{topic="a",le="+Inf"} 6
lat_sum{topic="a"} 3
lat_count{topic="a"} 6
lat_bucket{topic="b",le="0.1"} 1
lat_bucket{topic="b",le="1"} 1
lat_bucket{topic="b",le="+Inf"} 1
lat_sum{topic="b"} 0.05
lat_count{topic="b"} 1
# TYPE done counter
done{class="x"} 4
done{class="y"} 3
`

func metricsWorker(t *testing.T) *Worker {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, exposition)
	}))
	t.Cleanup(srv.Close)
	return &Worker{HTTPAddr: strings.TrimPrefix(srv.URL, "http://")}
}

func TestHistogramSumsLabelSets(t *testing.T) {
	w := metricsWorker(t)
	got, total, err := w.Histogram(context.Background(), "lat")
	if err != nil {
		t.Fatal(err)
	}
	want := []Bucket{{UpperBound: 0.1, Count: 3}, {UpperBound: 1, Count: 6}}
	if total != 7 || len(got) != len(want) {
		t.Fatalf("got %v total %d, want %v total 7", got, total, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if _, _, err := w.Histogram(context.Background(), "done"); err == nil {
		t.Fatal("a counter was read as a histogram")
	}
}

func TestMetricsTotalsHistogramSumAndCount(t *testing.T) {
	m, err := metricsWorker(t).Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m["done"] != 7 || m["done{class=x}"] != 4 {
		t.Fatalf("counters %v", m)
	}
	if m["lat_sum"] != 3.05 || m["lat_count"] != 7 {
		t.Errorf("lat_sum %v lat_count %v; want 3.05 and 7", m["lat_sum"], m["lat_count"])
	}
	for k := range m {
		if strings.HasPrefix(k, "lat") && k != "lat_sum" && k != "lat_count" {
			t.Errorf("histogram sample %s in Metrics", k)
		}
	}
}
