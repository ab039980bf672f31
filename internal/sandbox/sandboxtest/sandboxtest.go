// Package sandboxtest holds the test scaffolding shared by the packages that
// test against the WeChat Pay sandbox: one set of throwaway credentials per
// test binary, and a sandbox behind a real HTTP server per test.
package sandboxtest

import (
	"fmt"
	"net/http/httptest"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/ordersync/ordersync/internal/sandbox"
)

// Main generates credentials into *creds once for the test binary (RSA key
// generation is slow), runs the tests, removes the credentials and, when the
// tests passed, fails on leaked goroutines. It returns the exit code for
// os.Exit in TestMain.
func Main(m *testing.M, creds **sandbox.Credentials) int {
	dir, err := os.MkdirTemp("", "sandbox-creds-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *creds, err = sandbox.GenerateCredentials(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
}

// Start runs a sandbox with cfg and creds behind an httptest server, both
// closed when the test ends.
func Start(tb testing.TB, cfg sandbox.Config, creds *sandbox.Credentials) (*sandbox.Server, *httptest.Server) {
	tb.Helper()
	cfg.Credentials = creds
	sb, err := sandbox.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	tb.Cleanup(func() {
		sb.Close()
		srv.Close()
	})
	return sb, srv
}
