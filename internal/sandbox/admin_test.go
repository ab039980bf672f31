package sandbox_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
)

// TestAdminEndpointsNeedToken: with an admin token set, every /sandbox/*
// endpoint answers 401 without it or with a wrong one, and serves with it.
func TestAdminEndpointsNeedToken(t *testing.T) {
	const token = "s3cr3t-admin-token"
	_, srv := newSandbox(t, sandbox.Config{AdminToken: token})
	hc := srv.Client()
	do := func(method, path, auth string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(`[]`))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for _, ep := range []struct{ method, path string }{
		{http.MethodGet, "/sandbox/stats"},
		{http.MethodGet, "/sandbox/faults"},
		{http.MethodPut, "/sandbox/faults"},
		{http.MethodDelete, "/sandbox/faults"},
		{http.MethodGet, "/sandbox/orders/1900000109/O1"},
	} {
		for _, auth := range []string{"", "Bearer wrong", token, "Basic " + token} {
			if got := do(ep.method, ep.path, auth); got != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: %d, want 401", ep.method, ep.path, auth, got)
			}
		}
		if got := do(ep.method, ep.path, "Bearer "+token); got == http.StatusUnauthorized {
			t.Errorf("%s %s with the token: 401", ep.method, ep.path)
		}
	}
}
