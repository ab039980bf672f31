package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ordersync/ordersync/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseOptions(t *testing.T) {
	env := map[string]string{"SANDBOX_ADDR": ":9000", "SANDBOX_COUNT_ONLY": "true", "SANDBOX_ADMIN_TOKEN": "t1"}
	tests := []struct {
		name    string
		give    []string
		giveEnv map[string]string
		want    options
		wantErr error
	}{
		{name: "defaults", want: options{addr: "127.0.0.1:8080"}},
		{name: "env", giveEnv: env, want: options{addr: ":9000", countOnly: true, adminToken: "t1"}},
		{name: "flags beat env", giveEnv: env, give: []string{"--addr", ":9001", "--count-only=false", "--credentials-dir", "d", "--admin-token", "t2"},
			want: options{addr: ":9001", dir: "d", adminToken: "t2"}},
		{name: "bad env bool", giveEnv: map[string]string{"SANDBOX_REUSE_SIGNATURES": "maybe"}, wantErr: errUsage},
		{name: "unknown flag", give: []string{"--nope"}, wantErr: errUsage},
		{name: "stray argument", give: []string{"x"}, wantErr: errUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.give, func(k string) string { return tt.giveEnv[k] })
			if !errors.Is(err, tt.wantErr) || (err == nil && got != tt.want) {
				t.Errorf("parseOptions = %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"--addr", "127.0.0.1:0", "--credentials-dir", dir}, func(string) string { return "" }, pw)
		_ = pw.Close()
		done <- err
	}()
	vars := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "# ORDERSYNC_WECHATPAY_CERT_FILE") {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			vars[k] = v
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	for _, k := range []string{"ORDERSYNC_WECHATPAY_BASE_URL", "ORDERSYNC_MCHID", "ORDERSYNC_MCH_CERT_SERIAL",
		"ORDERSYNC_MCH_PRIVATE_KEY_FILE", "ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE", "ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID"} {
		if vars[k] == "" {
			t.Errorf("%s not printed", k)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "worker.env")); err != nil {
		t.Error(err)
	}
	// The worker takes ordersync.yaml as its --config file as it is.
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	loader := config.Bind(fs)
	if err := fs.Parse([]string{"--config", filepath.Join(dir, "ordersync.yaml")}); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) (string, bool) { return "", false }
	if cfg, _, err := loader.Load(noEnv, nil, config.NeedWechat); err != nil || cfg.MchID != vars["ORDERSYNC_MCHID"] {
		t.Errorf("worker cannot load ordersync.yaml: %v", err)
	}
	statsURL := vars["ORDERSYNC_WECHATPAY_BASE_URL"] + "/sandbox/stats"
	resp, err := http.Get(statsURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("stats without the admin token: %d, want 401", resp.StatusCode)
	}
	token, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil || len(token) < 32 {
		t.Fatalf("admin token file: %q, %v", token, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "admin-token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin token file mode %v, %v; want 0600", fi.Mode(), err)
	}
	req, err := http.NewRequest(http.MethodGet, statsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]any
	err = json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats %d %v", resp.StatusCode, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	// A second start reuses the credentials.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	var out strings.Builder
	if err := run(ctx2, []string{"--addr", "127.0.0.1:0", "--credentials-dir", dir}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ORDERSYNC_MCH_CERT_SERIAL="+vars["ORDERSYNC_MCH_CERT_SERIAL"]) {
		t.Errorf("credentials regenerated:\n%s", out.String())
	}
}
