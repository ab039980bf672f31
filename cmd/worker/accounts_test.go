package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/sandbox/sandboxtest"
)

// registryFile writes a two-account registry whose keys are creds' (both
// accounts sign with them) and returns its path; edit, when set, changes
// its text first.
func registryFile(t *testing.T, creds *sandbox.Credentials, edit func(string) string) string {
	t.Helper()
	sp, ch := *creds, *creds
	sp.MchID, ch.MchID = sandbox.DefaultMchID, "1230000200"
	doc := sandboxtest.Registry{SP: &sp, Channel: &ch, ChannelPublicKey: true, Default: "sp-east",
		Merchants: map[string]string{"1900000201": "bank-channel"}}.YAML()
	if edit != nil {
		doc = edit(doc)
	}
	path := filepath.Join(t.TempDir(), "merchants.yaml")
	sandboxtest.ReplaceFile(t, path, []byte(doc))
	return path
}

func TestRunStopsOnABadRegistryNamingThePathInIt(t *testing.T) {
	clearEnv(t)
	creds, err := sandbox.GenerateCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORDERSYNC_BROKERS", "127.0.0.1:1")
	t.Setenv("ORDERSYNC_TOPICS", "orders")
	for _, tt := range []struct {
		name    string
		edit    func(string) string
		giveEnv map[string]string
		want    string
	}{
		{name: "unknown mode", edit: func(s string) string { return strings.Replace(s, "mode: channel", "mode: indirect", 1) },
			want: `accounts.bank-channel.mode: unknown mode "indirect"`},
		{name: "missing key file", edit: func(s string) string {
			return strings.Replace(s, "private_key_file: "+creds.MchPrivateKeyFile, "private_key_file: /nonexistent/key.pem", 1)
		}, want: "accounts.sp-east.private_key_file: no such file"},
		{name: "account unknown in merchants", edit: func(s string) string {
			return strings.Replace(s, `"1900000201": bank-channel`, `"1900000201": bank`, 1)
		},
			want: `merchants.1900000201: account "bank" is not listed under accounts`},
		{name: "file and single-account settings", giveEnv: map[string]string{"ORDERSYNC_MCHID": "1230000109"},
			want: "conflicts with ORDERSYNC_MCHID (--mchid)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ORDERSYNC_MERCHANTS_FILE", registryFile(t, creds, tt.edit))
			for k, v := range tt.giveEnv {
				t.Setenv(k, v)
			}
			code, _, stderr := dispatchArgs(t, "run")
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], "ORDERSYNC_MERCHANTS_FILE") ||
				!strings.Contains(lines[0], tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line naming ORDERSYNC_MERCHANTS_FILE and %s", code, stderr, tt.want)
			}
			if strings.Contains(stderr, "PRIVATE KEY") {
				t.Errorf("stderr shows key material: %q", stderr)
			}
		})
	}
}

func TestValidateTakesModesFromTheRegistryWithoutKeys(t *testing.T) {
	clearEnv(t)
	creds := &sandbox.Credentials{MchCertSerial: "ABC", MchPrivateKeyFile: "/nonexistent/key.pem",
		WechatPayPublicKeyFile: "/nonexistent/pub.pem", WechatPayPublicKeyID: "PUB_KEY_ID_0112345678901234567890123456789012"}
	t.Setenv("ORDERSYNC_MERCHANTS_FILE", registryFile(t, creds, nil))
	event := func(sub string) string {
		return `{"event_id":"e-` + sub + `","event_type":"order.created","occurred_at":"2026-11-26T12:30:05+08:00",` +
			`"merchant":{"sub_mchid":"` + sub + `","sub_appid":"wx8888888888888888","shop_no":"6895"},` +
			`"customer":{"sub_openid":"oYobu0Dmn6TdodZnFWKOEkqoRbI8","login_token":"071oYFSN19sCH31AyNSN15QDSN1oYFSA"},` +
			`"order":{"order_no":"o1","entry":"pages/menu/index","total_amount":100,"discount_amount":0,"user_amount":100,` +
			`"dishes":[{"dish_no":"1","name":"面","price":100,"unit":"BY_SHARE","count":1}]}}`
	}
	in := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(in, []byte(event("1900000201")+"\n"+event("1900000999")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := dispatchArgs(t, "validate", in)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != exitOK || len(lines) != 2 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !strings.HasPrefix(lines[0], `{"payload":{"channel_id":"1230000200","sub_mchid":"1900000201"`) {
		t.Errorf("channel sub-merchant: %s", lines[0])
	}
	if !strings.HasPrefix(lines[1], `{"payload":{"sp_mchid":"1230000109","sp_appid":"wx1234567890abcdef","sub_mchid":"1900000999"`) {
		t.Errorf("default account: %s", lines[1])
	}
}
