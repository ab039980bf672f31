package sandbox_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/ordersync/ordersync/internal/sandbox"
)

// creds is generated once per package: RSA key generation is slow.
var creds *sandbox.Credentials

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sandbox-creds-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	creds, err = sandbox.GenerateCredentials(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
