package health

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// accountsUploader is an uploader of several accounts, some paused.
type accountsUploader struct{ some bool }

func (accountsUploader) Paused() (bool, string) { return false, "" }
func (a accountsUploader) SomePaused() bool     { return a.some }

func TestOnePausedAccountIsNeitherAStallNorUnready(t *testing.T) {
	now := time.Now()
	stuck := fakeConsumer{ready: true, lastCommit: now.Add(-10 * time.Minute), pending: 5}
	for _, tt := range []struct {
		name       string
		give       accountsUploader
		path       string
		wantStatus int
		wantBody   string
	}{
		{"live, one account paused", accountsUploader{some: true}, "/healthz", 200, "ok"},
		{"live, none paused", accountsUploader{}, "/healthz", 503, "stalled"},
		{"ready, one account paused", accountsUploader{some: true}, "/readyz", 200, "ok"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := Handler(Checks{Consumer: stuck, Uploader: tt.give, StallAfter: 5 * time.Minute, Now: func() time.Time { return now }}, prometheus.NewRegistry())
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.wantStatus || !strings.HasPrefix(rec.Body.String(), tt.wantBody) {
				t.Errorf("%s = %d %q, want %d %q", tt.path, rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
		})
	}
}
