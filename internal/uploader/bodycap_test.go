package uploader_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/uploader"
)

// TestHugeResponseBodyIsTransient puts a proxy that answers 502 with an
// 8 MiB body in front of the API: the body is not read past the cap, and the
// answer is a transient failure that says so.
func TestHugeResponseBodyIsTransient(t *testing.T) {
	chunk := []byte(strings.Repeat("x", 64<<10))
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		for range 128 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer proxy.Close()
	e := newEnv(t, sandbox.Config{})
	cfg := e.config()
	cfg.BaseURL = proxy.URL
	cfg.BreakerThreshold = -1
	u := newUploader(t, cfg)
	out := u.Upload(context.Background(), orderBody("o"))
	if out.Class != uploader.RetriesExhausted || out.Err == nil || !strings.Contains(out.Err.Error(), "response body larger than 1 MiB") {
		t.Errorf("outcome %+v (%v), want retries exhausted on a response body over the cap", out, out.Err)
	}
}
