// Package sandboxtest holds the test scaffolding shared by the packages that
// test against the WeChat Pay sandbox: one set of throwaway credentials per
// test binary, a sandbox behind a real HTTP server per test, and the
// two-account merchant registry file over such credentials.
package sandboxtest

import (
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// Registry is the tests' two-account merchant registry
// (ORDERSYNC_MERCHANTS_FILE): sp-east, a service provider signing with SP,
// and bank-channel, a channel partner signing with Channel.
type Registry struct {
	SP, Channel *sandbox.Credentials
	// ChannelKey is bank-channel's private key file
	// [Channel.MchPrivateKeyFile]; another account's key makes the sandbox
	// reject its signatures.
	ChannelKey string
	// ChannelPublicKey has bank-channel verify answers with the WeChat Pay
	// public key [false: with the platform certificate].
	ChannelPublicKey bool
	// Default is the default_account ["": none].
	Default string
	// Merchants files sub-merchants (sub_mchid → account name).
	Merchants map[string]string
}

// YAML returns the registry file's text.
func (r Registry) YAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, `accounts:
  sp-east:
    mode: service_provider
    mchid: %q
    cert_serial: %s
    private_key_file: %s
    wechatpay_public_key_file: %s
    wechatpay_public_key_id: %s
    sp_appid: wx1234567890abcdef
  bank-channel:
    mode: channel
    mchid: %q
    cert_serial: %s
`, r.SP.MchID, r.SP.MchCertSerial, r.SP.MchPrivateKeyFile, r.SP.WechatPayPublicKeyFile, r.SP.WechatPayPublicKeyID,
		r.Channel.MchID, r.Channel.MchCertSerial)
	key := r.ChannelKey
	if key == "" {
		key = r.Channel.MchPrivateKeyFile
	}
	fmt.Fprintf(&b, "    private_key_file: %s\n", key)
	if r.ChannelPublicKey {
		fmt.Fprintf(&b, "    wechatpay_public_key_file: %s\n    wechatpay_public_key_id: %s\n",
			r.Channel.WechatPayPublicKeyFile, r.Channel.WechatPayPublicKeyID)
	} else {
		fmt.Fprintf(&b, "    wechatpay_cert_file: %s\n", r.Channel.PlatformCertFile)
	}
	if r.Default != "" {
		fmt.Fprintf(&b, "default_account: %s\n", r.Default)
	}
	b.WriteString("merchants:\n")
	for _, sub := range slices.Sorted(maps.Keys(r.Merchants)) {
		fmt.Fprintf(&b, "  %q: %s\n", sub, r.Merchants[sub])
	}
	return b.String()
}

// WriteRegistry writes r to path whole (see ReplaceFile).
func WriteRegistry(tb testing.TB, path string, r Registry) {
	tb.Helper()
	ReplaceFile(tb, path, []byte(r.YAML()))
}

// ReplaceFile writes data to path whole: it writes a temporary file beside
// path and renames it over path, so that a file watcher never reads half of
// it.
func ReplaceFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		tb.Fatal(err)
	}
}

// RegistryFile writes r into a file of its own in a temporary directory of
// the test and returns its path.
func RegistryFile(tb testing.TB, r Registry) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "merchants.yaml")
	WriteRegistry(tb, path, r)
	return path
}
