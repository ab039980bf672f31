package sandbox_test

import (
	"os"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/sandbox/sandboxtest"
)

// creds is generated once per package: RSA key generation is slow.
var creds *sandbox.Credentials

func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m, &creds)) }
