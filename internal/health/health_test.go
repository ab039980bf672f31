package health

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeConsumer struct {
	ready      bool
	why        string
	lastCommit time.Time
	pending    int
}

func (f fakeConsumer) Ready() (bool, string)      { return f.ready, f.why }
func (f fakeConsumer) Progress() (time.Time, int) { return f.lastCommit, f.pending }

type fakeUploader struct {
	paused bool
	why    string
}

func (f fakeUploader) Paused() (bool, string) { return f.paused, f.why }

type fakeLedger struct{ why string }

func (f fakeLedger) Healthy() (bool, string) { return f.why == "", f.why }

func TestEndpoints(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		give       Checks
		path       string
		wantCode   int
		wantInBody string
	}{
		{"live idle", Checks{Consumer: fakeConsumer{}, Uploader: fakeUploader{}}, "/healthz", 200, "ok"},
		{"live progressing", Checks{Consumer: fakeConsumer{lastCommit: now.Add(-time.Second), pending: 5}, Uploader: fakeUploader{}}, "/healthz", 200, "ok"},
		{"live stalled", Checks{Consumer: fakeConsumer{lastCommit: now.Add(-10 * time.Minute), pending: 5}, Uploader: fakeUploader{}}, "/healthz", 503, "stalled: 5 events pending"},
		{"live paused is not stalled", Checks{Consumer: fakeConsumer{lastCommit: now.Add(-10 * time.Minute), pending: 5}, Uploader: fakeUploader{paused: true}}, "/healthz", 200, "ok"},
		{"ready", Checks{Consumer: fakeConsumer{ready: true}, Uploader: fakeUploader{}}, "/readyz", 200, "ok"},
		{"ledger failing", Checks{Consumer: fakeConsumer{ready: true}, Uploader: fakeUploader{}, Ledger: fakeLedger{why: "ledger writes failing, commits stalled: x"}}, "/readyz", 503, "not ready: ledger writes failing"},
		{"ledger healthy", Checks{Consumer: fakeConsumer{ready: true}, Uploader: fakeUploader{}, Ledger: fakeLedger{}}, "/readyz", 200, "ok"},
		{"not joined", Checks{Consumer: fakeConsumer{why: "joining group ordersync"}, Uploader: fakeUploader{}}, "/readyz", 503, "not ready: joining group ordersync"},
		{"paused", Checks{Consumer: fakeConsumer{ready: true}, Uploader: fakeUploader{paused: true, why: "401 SIGN_ERROR"}}, "/readyz", 503, "paused: 401 SIGN_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.give.StallAfter = 5 * time.Minute
			tt.give.Now = func() time.Time { return now }
			srv := httptest.NewServer(Handler(tt.give, prometheus.NewRegistry()))
			defer srv.Close()
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || !strings.Contains(string(body), tt.wantInBody) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, body, tt.wantCode, tt.wantInBody)
			}
		})
	}
}

type fakeGroup struct {
	joined bool
	since  time.Time
}

func (f fakeGroup) Joined() (bool, time.Time) { return f.joined, f.since }

func TestLiveFailsOutOfTheGroupTooLong(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		give     fakeGroup
		wantCode int
		wantBody string
	}{
		{"joined long ago", fakeGroup{joined: true, since: now.Add(-time.Hour)}, 200, "ok"},
		{"joining briefly", fakeGroup{since: now.Add(-time.Minute)}, 200, "ok"},
		{"out of the group too long", fakeGroup{since: now.Add(-3 * time.Minute)}, 503, "not in consumer group for 3m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Checks{Consumer: fakeConsumer{}, Uploader: fakeUploader{}, Group: tt.give, NotJoinedAfter: 2 * time.Minute,
				StallAfter: 5 * time.Minute, Now: func() time.Time { return now }}
			srv := httptest.NewServer(Handler(c, prometheus.NewRegistry()))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

// TestReadyReasonsShort keeps the detail of a reason — addresses, URLs,
// the last error — out of /readyz: it goes to the log.
func TestReadyReasonsShort(t *testing.T) {
	tests := []struct {
		name string
		give Checks
		want string
	}{
		{"paused", Checks{Consumer: fakeConsumer{ready: true}, Uploader: fakeUploader{paused: true,
			why: `upstream unavailable: no attempt succeeded for 15m0s, last: post: Post "https://proxy.internal:8443/v3/catering/orders/sync-status": dial tcp 10.0.0.7:8443: connection refused`}},
			"paused: upstream unavailable\n"},
		{"not ready", Checks{Consumer: fakeConsumer{why: "dead-letter topic unwritable: Unknown Topic Or Partition: the request is for a topic"}, Uploader: fakeUploader{}},
			"not ready: dead-letter topic unwritable: Unknown Topic Or Partition\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(Handler(tt.give, prometheus.NewRegistry()))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 503 || string(body) != tt.want {
				t.Errorf("got %d %q, want 503 %q", resp.StatusCode, body, tt.want)
			}
		})
	}
}
