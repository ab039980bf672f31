package merchants_test

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
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
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (reloads %v)", what, obs.reloads)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	fixed, err := os.ReadFile(twoAccounts(t, map[string]string{subChannel: "bank-channel"}, credsB.MchPrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fixed, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("the changed file in force", func() bool {
		a, err := r.Registry().Resolve(subChannel)
		return err == nil && a.Name == "bank-channel"
	})

	before := r.Registry()
	if err := os.WriteFile(path, []byte("accounts: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("the broken file refused", func() bool { return reloads(false) == 1 })
	if r.Registry() != before {
		t.Error("a refused file replaced the registry in force")
	}

	if err := os.WriteFile(path, fixed, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("the repaired file in force", func() bool { return reloads(true) == 2 })
	hup <- syscall.SIGHUP
	waitFor("a SIGHUP reload of the unchanged file", func() bool { return reloads(true) == 3 })
}
