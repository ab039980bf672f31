package uploader_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
)

// TestEchoedSecretsRedacted puts a proxy that echoes the event's login token
// and openid in its error message in front of the API: the outcome's
// message and error carry neither.
func TestEchoedSecretsRedacted(t *testing.T) {
	const openid = "oYobu0Dmn6TdodZnFWKOEkqoRbI8"
	for _, status := range []int{http.StatusBadRequest, http.StatusBadGateway} {
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"code":"PARAM_ERROR","message":"login_token ` + loginToken + ` is not valid for ` + openid + `"}`))
		}))
		e := newEnv(t, sandbox.Config{})
		cfg := e.config()
		cfg.BaseURL = proxy.URL
		cfg.BreakerThreshold = -1
		u := newUploader(t, cfg)
		out := u.Upload(context.Background(), orderBody("o"))
		proxy.Close()
		text := out.Message + " " + out.Err.Error()
		if strings.Contains(text, loginToken) || strings.Contains(text, openid) || !strings.Contains(out.Message, "[redacted]") {
			t.Errorf("HTTP %d: outcome message %q, error %q; want the login token and openid redacted", status, out.Message, out.Err)
		}
	}
}
