package merchants_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/merchants"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// creds is the sp-east account (mchid 1230000109), credsB the bank-channel
// account (1230000200), generated once: RSA key generation is slow.
var creds, credsB *sandbox.Credentials

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "merchants-test")
	if err != nil {
		panic(err)
	}
	if creds, err = sandbox.GenerateCredentials(filepath.Join(dir, "sp-east")); err != nil {
		panic(err)
	}
	if credsB, err = sandbox.GenerateAccount(filepath.Join(dir, "bank-channel"), "1230000200"); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// registryYAML is a valid two-account registry over the test credentials.
func registryYAML() string {
	return fmt.Sprintf(`accounts:
  sp-east:
    mode: service_provider
    mchid: "1230000109"
    cert_serial: %[1]s
    private_key_file: %[2]s
    wechatpay_public_key_file: %[3]s
    wechatpay_public_key_id: %[4]s
    sp_appid: wx1234567890abcdef
    rate_limit: 100
  bank-channel:
    mode: channel
    mchid: "1230000200"
    cert_serial: %[1]s
    private_key_file: %[2]s
    wechatpay_cert_file: %[5]s
merchants:
  "1900000201": bank-channel
  "1900000202": sp-east
default_account: sp-east
`, creds.MchCertSerial, creds.MchPrivateKeyFile, creds.WechatPayPublicKeyFile, creds.WechatPayPublicKeyID, creds.PlatformCertFile)
}

func TestLoadResolvesSubMerchants(t *testing.T) {
	path := filepath.Join(t.TempDir(), "merchants.yaml")
	if err := os.WriteFile(path, []byte(registryYAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := merchants.Load(path, merchants.LoadOptions{Keys: true})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, tt := range []struct {
		giveSub                 string
		wantName, wantChannelID string
		wantMode                mapper.Mode
	}{
		{"1900000201", "bank-channel", "1230000200", mapper.ModeChannel},
		{"1900000202", "sp-east", "", mapper.ModeServiceProvider},
		{"1900000999", "sp-east", "", mapper.ModeServiceProvider},
	} {
		a, err := r.Resolve(tt.giveSub)
		if err != nil {
			t.Fatalf("Resolve(%s): %v", tt.giveSub, err)
		}
		if a.Name != tt.wantName || a.Mode != tt.wantMode || a.ChannelID != tt.wantChannelID {
			t.Errorf("Resolve(%s) = %s %s %q, want %s %s %q", tt.giveSub, a.Name, a.Mode, a.ChannelID, tt.wantName, tt.wantMode, tt.wantChannelID)
		}
		if a.PrivateKey == nil || (a.WechatPayPublicKey == nil && a.WechatPayCert == nil) {
			t.Errorf("account %s: keys not loaded", a.Name)
		}
	}
	if a := r.Account("sp-east"); a.RateLimit != 100 || a.SpAppID != "wx1234567890abcdef" {
		t.Errorf("sp-east = %+v", a)
	}
	if got := strings.Join(r.Names(), ","); got != "bank-channel,sp-east" {
		t.Errorf("Names = %s", got)
	}
}

func TestResolveWithoutDefaultAccount(t *testing.T) {
	doc := strings.Replace(registryYAML(), "default_account: sp-east\n", "", 1)
	r, err := merchants.Parse([]byte(doc), merchants.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve("1900000999"); !errors.Is(err, merchants.ErrNoAccount) {
		t.Fatalf("Resolve of an unlisted sub-merchant = %v, want ErrNoAccount", err)
	}
}

func TestLoadNamesThePathOfEachProblem(t *testing.T) {
	for _, tt := range []struct {
		name      string
		giveEdit  func(string) string
		giveNoKey bool
		wantErr   string
	}{
		{name: "unknown mode",
			giveEdit: func(s string) string { return strings.Replace(s, "mode: channel", "mode: chanel", 1) },
			wantErr:  `accounts.bank-channel.mode: unknown mode "chanel"`},
		{name: "missing key file",
			giveEdit: func(s string) string {
				return strings.Replace(s, creds.MchPrivateKeyFile, "/nonexistent/apiclient_key.pem", 1)
			},
			wantErr: "accounts.sp-east.private_key_file: no such file"},
		{name: "key file of the wrong kind",
			giveEdit: func(s string) string {
				return strings.Replace(s, "private_key_file: "+creds.MchPrivateKeyFile, "private_key_file: "+creds.PlatformCertFile, 1)
			},
			wantErr: "accounts.sp-east.private_key_file: not a usable PEM"},
		{name: "account unknown in merchants",
			giveEdit: func(s string) string {
				return strings.Replace(s, `"1900000201": bank-channel`, `"1900000201": bank-chanel`, 1)
			},
			wantErr: `merchants.1900000201: account "bank-chanel" is not listed under accounts`},
		{name: "bad default account",
			giveEdit: func(s string) string {
				return strings.Replace(s, "default_account: sp-east", "default_account: sp-west", 1)
			},
			wantErr: `default_account: "sp-west" is not an account under accounts`},
		{name: "unknown account key",
			giveEdit: func(s string) string { return strings.Replace(s, "rate_limit: 100", "rate_limt: 100", 1) },
			wantErr:  "accounts.sp-east.rate_limt: unknown key"},
		{name: "unknown top-level key",
			giveEdit: func(s string) string { return s + "defaults: x\n" },
			wantErr:  "defaults: unknown key"},
		{name: "bad rate limit",
			giveEdit: func(s string) string { return strings.Replace(s, "rate_limit: 100", "rate_limit: -1", 1) },
			wantErr:  `accounts.sp-east.rate_limit: "-1" must be requests per second`},
		{name: "service provider without sp_appid",
			giveEdit: func(s string) string { return strings.Replace(s, "    sp_appid: wx1234567890abcdef\n", "", 1) },
			wantErr:  "accounts.sp-east.sp_appid: required"},
		{name: "channel id in service-provider mode",
			giveEdit: func(s string) string {
				return strings.Replace(s, "sp_appid: wx1234567890abcdef", "sp_appid: wx1234567890abcdef\n    channel_id: \"1\"", 1)
			},
			wantErr: "accounts.sp-east.channel_id: not used in service_provider mode"},
		{name: "bad account name",
			giveEdit: func(s string) string { return strings.Replace(s, "  sp-east:", "  sp east:", 1) },
			wantErr:  "accounts.sp east: account name may hold only"},
		{name: "no verification key",
			giveEdit: func(s string) string {
				return strings.Replace(s, "    wechatpay_cert_file: "+creds.PlatformCertFile+"\n", "", 1)
			},
			wantErr: "accounts.bank-channel.wechatpay_public_key_file: required"},
		{name: "not yaml", giveEdit: func(string) string { return "accounts: [" }, wantErr: "not YAML"},
		{name: "missing key file not read without keys", giveNoKey: true,
			giveEdit: func(s string) string {
				return strings.Replace(s, creds.MchPrivateKeyFile, "/nonexistent/apiclient_key.pem", 1)
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := merchants.Parse([]byte(tt.giveEdit(registryYAML())), merchants.LoadOptions{Keys: !tt.giveNoKey})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var re *merchants.Error
			if !errors.As(err, &re) {
				t.Fatalf("Parse error = %v, want *merchants.Error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("Parse error = %q, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadOfAMissingFile(t *testing.T) {
	_, err := merchants.Load(filepath.Join(t.TempDir(), "none.yaml"), merchants.LoadOptions{})
	if err == nil || err.Error() != "cannot read: no such file" {
		t.Fatalf("Load = %v", err)
	}
}
