package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/merchants"
)

func writeRegistry(t *testing.T, keyFile string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "merchants.yaml")
	doc := `accounts:
  bank-channel:
    mode: channel
    mchid: "1230000200"
    cert_serial: ABC
    private_key_file: ` + keyFile + `
    wechatpay_public_key_file: ` + keyFile + `.pub
    wechatpay_public_key_id: PUB_KEY_ID_0112345678901234567890123456789012
default_account: bank-channel
`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMerchantsFileFormsTheRegistry(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	keyFile := filepath.Join(dir, "key.pem")
	writePEM(t, keyFile, "PRIVATE KEY", der)
	writePEM(t, keyFile+".pub", "PUBLIC KEY", pub)
	env := map[string]string{"ORDERSYNC_MERCHANTS_FILE": writeRegistry(t, keyFile), "ORDERSYNC_MERCHANT_HOLD": "3m"}
	cfg, _, err := load(t, nil, env, NeedWechat)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cfg.Registry.Resolve("1900000201")
	if err != nil || a.Name != "bank-channel" || a.PrivateKey == nil || a.ChannelID != "1230000200" {
		t.Fatalf("Resolve = %+v, %v", a, err)
	}
	if cfg.MerchantHold != 3*time.Minute {
		t.Errorf("MerchantHold = %v", cfg.MerchantHold)
	}

	// validate needs no key files.
	env["ORDERSYNC_MERCHANTS_FILE"] = writeRegistry(t, filepath.Join(dir, "absent.pem"))
	if _, _, err := load(t, nil, env, 0); err != nil {
		t.Errorf("without NeedWechat a missing key file is not read: %v", err)
	}
	_, _, err = load(t, nil, env, NeedWechat)
	want := "invalid setting ORDERSYNC_MERCHANTS_FILE (--merchants-file): " + env["ORDERSYNC_MERCHANTS_FILE"] +
		": accounts.bank-channel.private_key_file: no such file"
	if err == nil || err.Error() != want {
		t.Errorf("missing key file: %v\nwant %s", err, want)
	}
}

func TestMerchantsFileConflictsWithSingleAccountSettings(t *testing.T) {
	var named settings
	for _, s := range specs() {
		s.field(&named).env = s.env
	}
	for _, v := range named.singleAccount() {
		name := v.env
		env := map[string]string{"ORDERSYNC_MERCHANTS_FILE": writeRegistry(t, "/x"), name: "channel"}
		_, _, err := load(t, nil, env, 0)
		if err == nil || !strings.Contains(err.Error(), "ORDERSYNC_MERCHANTS_FILE") || !strings.Contains(err.Error(), "conflicts with "+name) {
			t.Errorf("%s with a registry: err = %v", name, err)
		}
	}
	// The same in --config.
	file := filepath.Join(t.TempDir(), "ordersync.yaml")
	if err := os.WriteFile(file, []byte("mode: channel\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := load(t, []string{"--config", file}, map[string]string{"ORDERSYNC_MERCHANTS_FILE": writeRegistry(t, "/x")}, 0)
	if err == nil || !strings.Contains(err.Error(), "conflicts with ORDERSYNC_MODE") {
		t.Errorf("mode in --config with a registry: err = %v", err)
	}
}

func TestWithoutMerchantsFileOneDefaultAccount(t *testing.T) {
	cfg, _, err := load(t, nil, map[string]string{"ORDERSYNC_MODE": "channel", "ORDERSYNC_CHANNEL_ID": "1900000109"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cfg.Registry.Resolve("anything")
	if err != nil || a.Name != merchants.DefaultAccount || a.Mode != "channel" || a.ChannelID != "1900000109" {
		t.Fatalf("Resolve = %+v, %v", a, err)
	}
	if cfg.MerchantHold != 10*time.Minute {
		t.Errorf("default MerchantHold = %v", cfg.MerchantHold)
	}
	if _, _, err := load(t, nil, map[string]string{"ORDERSYNC_MERCHANT_HOLD": "soon"}, 0); err == nil ||
		!strings.Contains(err.Error(), "ORDERSYNC_MERCHANT_HOLD") {
		t.Errorf("bad hold: %v", err)
	}
}
