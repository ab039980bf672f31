package merchants_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/uploader"
)

// TestAccountsShareOneConnectionPool: uploads through two accounts one
// after the other reuse one connection — an account costs a signer, not a
// connection pool.
func TestAccountsShareOneConnectionPool(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{
		Credentials: creds,
		Accounts:    []sandbox.Account{{Credentials: credsB}},
		Bindings: []sandbox.Binding{
			{SubMchID: subChannel, MchID: credsB.MchID, Mode: "channel"},
			{SubMchID: subSP, MchID: creds.MchID, Mode: "service_provider"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(sb.Handler())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(func() { sb.Close(); srv.Close() })
	r := newRouter(t, loadRegistry(t, twoAccounts(t, map[string]string{subChannel: "bank-channel", subSP: "sp-east"}, credsB.MchPrivateKeyFile)), srv.URL, newObserver())
	ctx := context.Background()
	for i, sub := range []string{subSP, subChannel, subSP, subChannel} {
		if _, out := upload(ctx, t, r, sub, "P00000"+string(rune('1'+i))); out.Class != uploader.Delivered {
			t.Fatalf("upload %d of %s: %v", i, sub, out.Err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("4 uploads one after the other through 2 accounts opened %d connections, want 1", n)
	}
}
