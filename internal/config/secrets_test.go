package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go/sasl/plain"
)

func TestKafkaPasswordIsNoFlag(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	Bind(fs)
	if fs.Lookup("kafka-password") != nil {
		t.Error("--kafka-password is a flag: the password would show in ps")
	}
	if fs.Lookup("kafka-password-file") == nil {
		t.Error("no --kafka-password-file flag")
	}
}

func TestKafkaPasswordFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "password")
	if err := os.WriteFile(file, []byte("s3cret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ORDERSYNC_BROKERS": "k:9092", "ORDERSYNC_KAFKA_SASL_MECHANISM": "PLAIN",
		"ORDERSYNC_KAFKA_USERNAME": "ordersync", "ORDERSYNC_KAFKA_PASSWORD_FILE": file}
	cfg, warnings, err := load(t, nil, env, NeedKafka)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := cfg.Kafka.SASL.(plain.Mechanism); !ok || m.Password != "s3cret-from-file" {
		t.Errorf("SASL mechanism %T, want PLAIN with the file's password", cfg.Kafka.SASL)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings for a 0600 password file: %v", warnings)
	}

	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, warnings, err := load(t, nil, env, NeedKafka); err != nil || len(warnings) != 1 ||
		!strings.Contains(warnings[0], "ORDERSYNC_KAFKA_PASSWORD_FILE") || !strings.Contains(warnings[0], "readable by group or others") {
		t.Errorf("0644 password file: err %v, warnings %v", err, warnings)
	}

	env["ORDERSYNC_KAFKA_PASSWORD"] = "also"
	if _, _, err := load(t, nil, env, NeedKafka); err == nil || !strings.Contains(err.Error(), "ORDERSYNC_KAFKA_PASSWORD_FILE") ||
		strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "also") {
		t.Errorf("password and password file: err = %v", err)
	}
}

func TestKeyFileReadableByOthersWarns(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	keyFile := filepath.Join(dir, "key.pem")
	writePEM(t, keyFile, "PRIVATE KEY", der)
	writePEM(t, filepath.Join(dir, "pub.pem"), "PUBLIC KEY", pub)
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"ORDERSYNC_MCHID": "1900000100", "ORDERSYNC_MCH_CERT_SERIAL": "ABC",
		"ORDERSYNC_MCH_PRIVATE_KEY_FILE":      keyFile,
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE": filepath.Join(dir, "pub.pem"),
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID":   "PUB_KEY_ID_0112345678901234567890123456789012",
	}
	_, warnings, err := load(t, nil, env, NeedWechat)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "ORDERSYNC_MCH_PRIVATE_KEY_FILE") || !strings.Contains(warnings[0], "readable by group or others") {
		t.Errorf("warnings = %v, want one about the key file's mode", warnings)
	}
}

func TestPlainHTTPBaseURL(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	writePEM(t, filepath.Join(dir, "key.pem"), "PRIVATE KEY", der)
	writePEM(t, filepath.Join(dir, "pub.pem"), "PUBLIC KEY", pub)
	base := map[string]string{
		"ORDERSYNC_MCHID": "1900000100", "ORDERSYNC_MCH_CERT_SERIAL": "ABC",
		"ORDERSYNC_MCH_PRIVATE_KEY_FILE":      filepath.Join(dir, "key.pem"),
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE": filepath.Join(dir, "pub.pem"),
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID":   "PUB_KEY_ID_0112345678901234567890123456789012",
	}
	tests := []struct {
		url, allow string
		wantErr    bool
	}{
		{"http://sandbox:8080", "", true},
		{"http://api.mch.weixin.qq.com", "false", true},
		{"http://sandbox:8080", "true", false},
		{"http://127.0.0.1:8080", "", false},
		{"http://[::1]:8080", "", false},
		{"http://localhost:8080", "", false},
	}
	for _, tt := range tests {
		env := map[string]string{"ORDERSYNC_WECHATPAY_BASE_URL": tt.url}
		for k, v := range base {
			env[k] = v
		}
		if tt.allow != "" {
			env["ORDERSYNC_ALLOW_INSECURE_BASE_URL"] = tt.allow
		}
		_, warnings, err := load(t, nil, env, NeedWechat)
		switch {
		case tt.wantErr && (err == nil || !strings.Contains(err.Error(), "ORDERSYNC_WECHATPAY_BASE_URL") ||
			!strings.Contains(err.Error(), "ORDERSYNC_ALLOW_INSECURE_BASE_URL")):
			t.Errorf("%s (allow %q): err = %v, want one naming the setting and the override", tt.url, tt.allow, err)
		case !tt.wantErr && (err != nil || len(warnings) != 1 || !strings.HasPrefix(warnings[0], "ORDERSYNC_WECHATPAY_BASE_URL is plain http")):
			t.Errorf("%s (allow %q): err %v, warnings %v; want the plain-http warning", tt.url, tt.allow, err, warnings)
		}
	}
}
