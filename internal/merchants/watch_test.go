package merchants_test

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/sandbox/sandboxtest"
)

// TestWatchReloadsOnChangeAndOnSIGHUP: a changed file is put in force, a
// broken one refused with the registry in force kept, and a SIGHUP reloads
// even an unchanged file.
func TestWatchReloadsOnChangeAndOnSIGHUP(t *testing.T) {
	_, url := startSandbox(t)
	obs := newObserver()
	path := twoAccounts(t, map[string]string{subChannel: "sp-east"}, credsB.MchPrivateKeyFile)
	r := newRouter(t, loadRegistry(t, path), url, obs)
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Watch(ctx, path, hup, 10*time.Millisecond) })
	defer func() { cancel(); wg.Wait() }()
	reloads := func(ok bool) int { obs.mu.Lock(); defer obs.mu.Unlock(); return obs.reloads[ok] }
	// Each file is replaced whole: a watcher that read half of one would
	// count a refusal the test did not make.
	fixed := sandboxtest.Registry{SP: creds, Channel: credsB, Merchants: map[string]string{subChannel: "bank-channel"}}
	sandboxtest.WriteRegistry(t, path, fixed)
	kafkatest.WaitFor(t, "the changed file in force", func() bool {
		a, err := r.Registry().Resolve(subChannel)
		return err == nil && a.Name == "bank-channel"
	})

	before := r.Registry()
	sandboxtest.ReplaceFile(t, path, []byte("accounts: [\n"))
	kafkatest.WaitFor(t, "the broken file refused", func() bool { return reloads(false) == 1 })
	if r.Registry() != before {
		t.Error("a refused file replaced the registry in force")
	}

	sandboxtest.WriteRegistry(t, path, fixed)
	kafkatest.WaitFor(t, "the repaired file in force", func() bool { return reloads(true) == 2 })
	hup <- syscall.SIGHUP
	kafkatest.WaitFor(t, "a SIGHUP reload of the unchanged file", func() bool { return reloads(true) == 3 })
}
