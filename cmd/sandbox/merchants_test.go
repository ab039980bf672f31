package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/merchants"
)

// TestMerchantsWritesARegistryTheWorkerLoads starts and stops the sandbox at
// once with --merchants: the registry it writes loads with every key, and a
// second start reuses the channel account's keys.
func TestMerchantsWritesARegistryTheWorkerLoads(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out strings.Builder
	args := []string{"--addr", "127.0.0.1:0", "--credentials-dir", dir, "--merchants", "--quota", "150"}
	if err := run(ctx, args, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fileMerchants)
	if !strings.Contains(out.String(), "# ORDERSYNC_MERCHANTS_FILE="+path) {
		t.Errorf("registry not announced:\n%s", out.String())
	}
	reg, err := merchants.Load(path, merchants.LoadOptions{Keys: true})
	if err != nil {
		t.Fatalf("the worker cannot load %s: %v", path, err)
	}
	for sub, want := range map[string]string{subDirect: "sp-east", subIndirect: channelAccount} {
		if a, err := reg.Resolve(sub); err != nil || a.Name != want {
			t.Errorf("Resolve(%s) = %v, %v; want %s", sub, a, err, want)
		}
	}
	before, _ := os.ReadFile(path)
	if err := run(ctx, args, func(string) string { return "" }, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a second start made new channel-account keys")
	}
}
