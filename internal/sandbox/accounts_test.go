package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"github.com/ordersync/ordersync/internal/sandbox"
)

func TestQuotaIsSharedByEveryCaller(t *testing.T) {
	sb, srv := newSandbox(t, sandbox.Config{Quota: 0.001}) // a bucket of one request, refilled after ~17 minutes
	a, b := sdkClient(t, false), sdkClient(t, true)
	if _, err := a.Post(context.Background(), srv.URL+sandbox.SyncStatusPath, orderJSON(t, "q1")); err != nil {
		t.Fatalf("first request: %v", err)
	}
	_, err := b.Post(context.Background(), srv.URL+sandbox.SyncStatusPath, orderJSON(t, "q2"))
	var apiErr *core.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "FREQUENCY_LIMITED" {
		t.Fatalf("second caller past the quota: %v, want 429 FREQUENCY_LIMITED", err)
	}
	if st := sb.Stats(); st.Throttled != 1 || st.Accepted != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestBindingsAndNoAuth(t *testing.T) {
	// creds' account files 1900000100 (the sample order's sub-merchant) in
	// channel mode, so a service-provider body for it breaks the binding.
	for _, tt := range []struct {
		name       string
		binding    sandbox.Binding
		wantStatus int
		wantCode   string
	}{
		{"wrong mode", sandbox.Binding{SubMchID: "1900000100", MchID: creds.MchID, Mode: "channel"}, 400, "INVALID_REQUEST"},
		{"no auth", sandbox.Binding{SubMchID: "1900000100", MchID: creds.MchID, Mode: "service_provider", NoAuth: true}, 403, "NO_AUTH"},
		{"bound as sent", sandbox.Binding{SubMchID: "1900000100", MchID: creds.MchID, Mode: "service_provider"}, 204, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newSandbox(t, sandbox.Config{Bindings: []sandbox.Binding{tt.binding}})
			res, err := sdkClient(t, false).Post(context.Background(), srv.URL+sandbox.SyncStatusPath, orderJSON(t, "b"))
			var apiErr *core.APIError
			switch {
			case tt.wantStatus == 204:
				if err != nil || res.Response.StatusCode != 204 {
					t.Fatalf("bound as sent: %v", err)
				}
				return
			case !errors.As(err, &apiErr):
				t.Fatalf("err = %v, want an API error", err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.Code != tt.wantCode {
				t.Errorf("answer %d %s, want %d %s", apiErr.StatusCode, apiErr.Code, tt.wantStatus, tt.wantCode)
			}
			if tt.wantCode == "INVALID_REQUEST" {
				d, _ := apiErr.Detail.(map[string]any)
				if apiErr.Message != sandbox.MessageBinding || d["field"] != "sub_mchid" {
					t.Errorf("binding answer %q detail %v", apiErr.Message, apiErr.Detail)
				}
			}
		})
	}
}

func TestBadAccountsRefused(t *testing.T) {
	for _, cfg := range []sandbox.Config{
		{Accounts: []sandbox.Account{{Credentials: creds}}}, // the primary twice
		{Bindings: []sandbox.Binding{{SubMchID: "1", MchID: "999", Mode: "channel"}}},
		{Bindings: []sandbox.Binding{{SubMchID: "1", MchID: creds.MchID, Mode: "direct"}}},
	} {
		cfg.Credentials = creds
		if _, err := sandbox.New(cfg); !errors.Is(err, sandbox.ErrBadAccounts) {
			t.Errorf("New(%+v) = %v, want ErrBadAccounts", cfg, err)
		}
	}
}
