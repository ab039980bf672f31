// Command sandbox runs the WeChat Pay sandbox (internal/sandbox) as a
// standalone HTTP server for the demo and docker-compose. Never production.
//
// Usage:
//
//	sandbox [--addr 127.0.0.1:8080] [--credentials-dir DIR] [--admin-token T] [--reuse-signatures] [--count-only] [--merchants] [--quota N]
//
// It listens on loopback unless --addr says otherwise. Each flag falls back
// to an environment variable: SANDBOX_ADDR, SANDBOX_CREDENTIALS_DIR,
// SANDBOX_ADMIN_TOKEN, SANDBOX_REUSE_SIGNATURES, SANDBOX_COUNT_ONLY,
// SANDBOX_MERCHANTS, SANDBOX_QUOTA. --merchants adds a second, channel
// account with its own keys, binds one sub-merchant to each account and
// writes the matching registry to DIR/merchants.yaml; --quota gives each
// account a request quota shared by every caller (429 FREQUENCY_LIMITED
// past it).
// When DIR holds no credentials, fresh ones are generated there (a temporary
// directory when DIR is empty). The worker settings that match are printed on
// stdout and written to DIR/worker.env (for a shell) and DIR/ordersync.yaml
// (for `worker run --config`). Faults are set at run time through
// PUT /sandbox/faults; counters are at GET /sandbox/stats. Every /sandbox/*
// endpoint requires "Authorization: Bearer <token>": --admin-token, or a
// token generated into DIR/admin-token (mode 0600) and reused after.
// SIGTERM or SIGINT shuts the server down gracefully.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ordersync/ordersync/internal/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const (
	// defaultAddr is loopback only: the admin endpoints set faults.
	defaultAddr = "127.0.0.1:8080"
	// adminTokenFile, in the credentials directory, holds the generated
	// admin token.
	adminTokenFile = "admin-token"
)

type options struct {
	addr, dir        string
	reuse, countOnly bool
	merchants        bool
	quota            float64
	adminToken       string
}

func parseOptions(args []string, getenv func(string) string) (options, error) {
	envBool := func(name string) (bool, error) {
		v := getenv(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%s=%q is not a boolean: %w", name, v, errUsage)
		}
		return b, nil
	}
	o := options{addr: getenv("SANDBOX_ADDR"), dir: getenv("SANDBOX_CREDENTIALS_DIR"), adminToken: getenv("SANDBOX_ADMIN_TOKEN")}
	if o.addr == "" {
		o.addr = defaultAddr
	}
	var err error
	if o.reuse, err = envBool("SANDBOX_REUSE_SIGNATURES"); err != nil {
		return o, err
	}
	if o.countOnly, err = envBool("SANDBOX_COUNT_ONLY"); err != nil {
		return o, err
	}
	if o.merchants, err = envBool("SANDBOX_MERCHANTS"); err != nil {
		return o, err
	}
	if v := getenv("SANDBOX_QUOTA"); v != "" {
		if o.quota, err = strconv.ParseFloat(v, 64); err != nil || o.quota < 0 {
			return o, fmt.Errorf("SANDBOX_QUOTA=%q is not a number of requests per second: %w", v, errUsage)
		}
	}
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", o.addr, "listen address (SANDBOX_ADDR)")
	fs.StringVar(&o.dir, "credentials-dir", o.dir, "credentials directory, generated when empty (SANDBOX_CREDENTIALS_DIR)")
	fs.BoolVar(&o.reuse, "reuse-signatures", o.reuse, "sign 204s once per second, for benchmarks (SANDBOX_REUSE_SIGNATURES)")
	fs.BoolVar(&o.countOnly, "count-only", o.countOnly, "count accepted uploads without keeping bodies (SANDBOX_COUNT_ONLY)")
	fs.BoolVar(&o.merchants, "merchants", o.merchants, "serve a second (channel) account too and write DIR/merchants.yaml (SANDBOX_MERCHANTS)")
	fs.StringVar(&o.adminToken, "admin-token", o.adminToken, "bearer token the /sandbox/* endpoints require; generated into DIR/"+adminTokenFile+" when empty (SANDBOX_ADMIN_TOKEN)")
	fs.Float64Var(&o.quota, "quota", o.quota, "requests per second per account, shared by every caller; 0 = none (SANDBOX_QUOTA)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	if o.quota < 0 {
		return o, fmt.Errorf("--quota %v is negative: %w", o.quota, errUsage)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	return o, nil
}

func credentials(dir string) (*sandbox.Credentials, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "ordersync-sandbox-")
		if err != nil {
			return nil, fmt.Errorf("create credentials dir: %w", err)
		}
		dir = d
	}
	if _, err := os.Stat(filepath.Join(dir, sandbox.FileIDs)); err == nil {
		return sandbox.LoadCredentials(dir)
	}
	return sandbox.GenerateCredentials(dir)
}

// adminToken returns the token in dir's admin-token file, generating it
// (32 random bytes, hex, mode 0600) when there is none.
func adminToken(dir string) (string, error) {
	path := filepath.Join(dir, adminTokenFile)
	if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	token := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return token, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	o, err := parseOptions(args, getenv)
	if err != nil {
		return err
	}
	creds, err := credentials(o.dir)
	if err != nil {
		return err
	}
	if o.adminToken == "" {
		if o.adminToken, err = adminToken(creds.Dir); err != nil {
			return err
		}
	}
	sbCfg := sandbox.Config{Credentials: creds, ReuseSignatures: o.reuse, CountOnly: o.countOnly, Quota: o.quota, AdminToken: o.adminToken}
	registry := ""
	if o.merchants {
		if sbCfg.Accounts, sbCfg.Bindings, registry, err = merchantsSetup(creds, o.quota); err != nil {
			return err
		}
	}
	sb, err := sandbox.New(sbCfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", o.addr, err)
	}
	host := ln.Addr().(*net.TCPAddr)
	baseURL := fmt.Sprintf("http://%s", ln.Addr())
	if host.IP.IsUnspecified() {
		baseURL = fmt.Sprintf("http://127.0.0.1:%d", host.Port)
	}
	env := fmt.Sprintf("ORDERSYNC_WECHATPAY_BASE_URL=%s\nORDERSYNC_MCHID=%s\nORDERSYNC_MCH_CERT_SERIAL=%s\n"+
		"ORDERSYNC_MCH_PRIVATE_KEY_FILE=%s\nORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE=%s\nORDERSYNC_WECHATPAY_PUBLIC_KEY_ID=%s\n"+
		"# platform-certificate mode instead of the two lines above:\n# ORDERSYNC_WECHATPAY_CERT_FILE=%s\n",
		baseURL, creds.MchID, creds.MchCertSerial, creds.MchPrivateKeyFile, creds.WechatPayPublicKeyFile,
		creds.WechatPayPublicKeyID, creds.PlatformCertFile)
	if err := os.WriteFile(filepath.Join(creds.Dir, "worker.env"), []byte(env), 0o644); err != nil {
		_ = ln.Close()
		return fmt.Errorf("write worker.env: %w", err)
	}
	yaml := fmt.Sprintf("# Worker settings for this sandbox's throwaway merchant (worker run --config FILE).\n"+
		"wechatpay_base_url: %q\nmchid: %q\nmch_cert_serial: %q\nmch_private_key_file: %q\n"+
		"wechatpay_public_key_file: %q\nwechatpay_public_key_id: %q\n",
		baseURL, creds.MchID, creds.MchCertSerial, creds.MchPrivateKeyFile, creds.WechatPayPublicKeyFile, creds.WechatPayPublicKeyID)
	if err := os.WriteFile(filepath.Join(creds.Dir, "ordersync.yaml"), []byte(yaml), 0o644); err != nil {
		_ = ln.Close()
		return fmt.Errorf("write ordersync.yaml: %w", err)
	}
	fmt.Fprintf(stdout, "# WeChat Pay sandbox listening on %s (credentials in %s)\n"+
		"# admin endpoints (/sandbox/*) need: Authorization: Bearer <--admin-token, or the content of %s>\n%s",
		ln.Addr(), creds.Dir, filepath.Join(creds.Dir, adminTokenFile), env)
	if registry != "" {
		fmt.Fprintf(stdout, "# two merchant accounts: instead of the ORDERSYNC_MCH*, _WECHATPAY_*_KEY* and _SP_APPID settings above\n"+
			"# ORDERSYNC_MERCHANTS_FILE=%s\n", registry)
	}

	srv := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		sb.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sb.Close() // release requests held by latency or timeout faults
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
