package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ordersync/ordersync/internal/mapper"
)

func load(t *testing.T, args []string, env map[string]string, need Need) (*Config, []string, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse flags: %v", err)
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	return l.Load(getenv, environ, need)
}

func TestDefaults(t *testing.T) {
	cfg, warnings, err := load(t, nil, map[string]string{
		"ORDERSYNC_BROKERS": "127.0.0.1:9092, 127.0.0.2:9092,127.0.0.1:9092",
		"ORDERSYNC_TOPICS":  "orders,orders-b, orders,,",
	}, NeedKafka|NeedTopics)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %v", warnings)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"brokers", strings.Join(cfg.Brokers, "|"), "127.0.0.1:9092|127.0.0.2:9092"},
		{"topics", strings.Join(cfg.Topics, "|"), "orders|orders-b"},
		{"group", cfg.GroupID, "ordersync"},
		{"dlq", cfg.DLQTopic, "orders.dlq"},
		{"ledger", cfg.Ledger, true},
		{"ledger topic", cfg.LedgerTopic, "orders.ledger"},
		{"ledger retention", cfg.LedgerRetention, 72 * time.Hour},
		{"mode", cfg.Mode, string(mapper.ModeServiceProvider)},
		{"in flight", cfg.MaxInFlight, 64},
		{"skip", strings.Join(cfg.SkipTypes, ","), "order.cancelled,order.closed,order.refunded,order.served"},
		{"retry initial", cfg.RetryInitialInterval, 500 * time.Millisecond},
		{"retry max", cfg.RetryMaxInterval, time.Minute},
		{"retry elapsed", cfg.RetryMaxElapsed, 15 * time.Minute},
		{"rate", cfg.RateLimit, 0.0},
		{"http", cfg.HTTPAddr, ":9090"},
		{"base url", cfg.BaseURL, "https://api.mch.weixin.qq.com"},
		{"session", cfg.SessionTimeout, 10 * time.Second},
		{"log format", cfg.LogFormat, "json"},
		{"tls", cfg.Kafka.TLS == nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestPrecedenceFlagOverEnvOverFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ordersync.yaml")
	yaml := "brokers: [\"file:1\", \"file:2\"]\ntopics: orders\nmax_in_flight: 8\ngroup_id: from-file\nrate_limit: 2.5\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := load(t, []string{"--config", file, "--max-in-flight", "32"}, map[string]string{
		"ORDERSYNC_MAX_IN_FLIGHT": "16",
		"ORDERSYNC_GROUP_ID":      "from-env",
	}, NeedKafka|NeedTopics)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxInFlight != 32 || cfg.GroupID != "from-env" || cfg.RateLimit != 2.5 || strings.Join(cfg.Brokers, ",") != "file:1,file:2" {
		t.Errorf("got in-flight %d group %q rate %v brokers %v", cfg.MaxInFlight, cfg.GroupID, cfg.RateLimit, cfg.Brokers)
	}
}

func TestBadSettingNamesIt(t *testing.T) {
	base := map[string]string{"ORDERSYNC_BROKERS": "k:9092", "ORDERSYNC_TOPICS": "orders"}
	tests := []struct {
		giveEnv  map[string]string
		giveNeed Need
		want     string
	}{
		{map[string]string{"ORDERSYNC_BROKERS": ""}, NeedKafka, "ORDERSYNC_BROKERS (--brokers): required"},
		{map[string]string{"ORDERSYNC_BROKERS": "nohost"}, NeedKafka, "ORDERSYNC_BROKERS (--brokers)"},
		{map[string]string{"ORDERSYNC_TOPICS": " , "}, NeedTopics, "ORDERSYNC_TOPICS (--topics): required"},
		{map[string]string{"ORDERSYNC_MAX_IN_FLIGHT": "0"}, 0, "ORDERSYNC_MAX_IN_FLIGHT"},
		{map[string]string{"ORDERSYNC_MAX_IN_FLIGHT": "many"}, 0, "ORDERSYNC_MAX_IN_FLIGHT"},
		{map[string]string{"ORDERSYNC_MODE": "partner"}, 0, "ORDERSYNC_MODE"},
		{map[string]string{"ORDERSYNC_RETRY_MAX_ELAPSED": "15"}, 0, "ORDERSYNC_RETRY_MAX_ELAPSED"},
		{map[string]string{"ORDERSYNC_RETRY_MAX_INTERVAL": "100ms"}, 0, "ORDERSYNC_RETRY_MAX_INTERVAL"},
		{map[string]string{"ORDERSYNC_RATE_LIMIT": "-1"}, 0, "ORDERSYNC_RATE_LIMIT"},
		{map[string]string{"ORDERSYNC_LOG_LEVEL": "loud"}, 0, "ORDERSYNC_LOG_LEVEL"},
		{map[string]string{"ORDERSYNC_LOG_FORMAT": "xml"}, 0, "ORDERSYNC_LOG_FORMAT"},
		{map[string]string{"ORDERSYNC_KAFKA_TLS": "yes please"}, 0, "ORDERSYNC_KAFKA_TLS"},
		{map[string]string{"ORDERSYNC_KAFKA_SASL_MECHANISM": "GSSAPI", "ORDERSYNC_KAFKA_USERNAME": "u", "ORDERSYNC_KAFKA_PASSWORD": "p"}, 0, "ORDERSYNC_KAFKA_SASL_MECHANISM"},
		{map[string]string{"ORDERSYNC_KAFKA_SASL_MECHANISM": "PLAIN", "ORDERSYNC_KAFKA_USERNAME": "u"}, 0, "ORDERSYNC_KAFKA_PASSWORD"},
		{map[string]string{"ORDERSYNC_WECHATPAY_BASE_URL": "api.mch.weixin.qq.com"}, 0, "ORDERSYNC_WECHATPAY_BASE_URL"},
		{map[string]string{"ORDERSYNC_DLQ_TOPIC": "orders"}, NeedTopics, "ORDERSYNC_DLQ_TOPIC"},
		{map[string]string{"ORDERSYNC_LEDGER": "yes"}, 0, "ORDERSYNC_LEDGER (--ledger)"},
		{map[string]string{"ORDERSYNC_LEDGER_TOPIC": "orders.dlq"}, NeedTopics, "ORDERSYNC_LEDGER_TOPIC"},
		{map[string]string{"ORDERSYNC_LEDGER_RETENTION": "3d"}, 0, "ORDERSYNC_LEDGER_RETENTION"},
		{map[string]string{}, NeedWechat, "ORDERSYNC_MCHID"},
	}
	for _, tt := range tests {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range tt.giveEnv {
			env[k] = v
		}
		_, _, err := load(t, nil, env, tt.giveNeed)
		var cerr *Error
		if !errors.As(err, &cerr) {
			t.Errorf("env %v: err = %v, want a config error", tt.giveEnv, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("env %v: err = %q, want one line containing %q", tt.giveEnv, err, tt.want)
		}
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	_, _, err := load(t, nil, map[string]string{
		"ORDERSYNC_KAFKA_SASL_MECHANISM": "SCRAM-SHA-999",
		"ORDERSYNC_KAFKA_USERNAME":       "svc",
		"ORDERSYNC_KAFKA_PASSWORD":       "hunter2-very-secret",
	}, 0)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "apiclient_key.pem")
	secret := "-----BEGIN RSA PRIVATE KEY-----\nTUlJQ1hBSUJBQUtCZ1FDbm90cGtjczg=\n-----END RSA PRIVATE KEY-----\n"
	if err := os.WriteFile(keyFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = load(t, nil, map[string]string{
		"ORDERSYNC_MCHID": "1900000100", "ORDERSYNC_MCH_CERT_SERIAL": "ABC",
		"ORDERSYNC_MCH_PRIVATE_KEY_FILE": keyFile,
	}, NeedWechat)
	if err == nil || !strings.Contains(err.Error(), "ORDERSYNC_MCH_PRIVATE_KEY_FILE") || strings.Contains(err.Error(), "TUlJQ1") {
		t.Fatalf("err = %v", err)
	}
}

func TestWechatKeysLoad(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	writePEM(t, filepath.Join(dir, "key.pem"), "PRIVATE KEY", der)
	writePEM(t, filepath.Join(dir, "pub.pem"), "PUBLIC KEY", pub)
	env := map[string]string{
		"ORDERSYNC_MCHID": "1900000100", "ORDERSYNC_MCH_CERT_SERIAL": "ABC",
		"ORDERSYNC_MCH_PRIVATE_KEY_FILE":      filepath.Join(dir, "key.pem"),
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE": filepath.Join(dir, "pub.pem"),
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID":   "PUB_KEY_ID_0112345678901234567890123456789012",
	}
	cfg, warnings, err := load(t, nil, env, NeedWechat)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings with the https default: %v", warnings)
	}
	env["ORDERSYNC_WECHATPAY_BASE_URL"] = "http://127.0.0.1:8080"
	if _, warnings, err := load(t, nil, env, NeedWechat); err != nil || len(warnings) != 1 ||
		!strings.HasPrefix(warnings[0], "ORDERSYNC_WECHATPAY_BASE_URL is plain http") {
		t.Errorf("plain http base URL: err %v, warnings %v", err, warnings)
	}
	delete(env, "ORDERSYNC_WECHATPAY_BASE_URL")
	if !cfg.MchPrivateKey.Equal(key) || !cfg.WechatPayPublicKey.Equal(&key.PublicKey) {
		t.Error("keys not loaded")
	}
	env["ORDERSYNC_WECHATPAY_CERT_FILE"] = filepath.Join(dir, "pub.pem")
	if _, _, err := load(t, nil, env, NeedWechat); err == nil || !strings.Contains(err.Error(), "ORDERSYNC_WECHATPAY_CERT_FILE") {
		t.Errorf("both verification modes: err = %v", err)
	}
	delete(env, "ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE")
	delete(env, "ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID")
	if _, _, err := load(t, nil, env, NeedWechat); err == nil || !strings.Contains(err.Error(), `"CERTIFICATE"`) {
		t.Errorf("public key as certificate: err = %v", err)
	}
}

func TestUnknownVariablesWarn(t *testing.T) {
	_, warnings, err := load(t, nil, map[string]string{"ORDERSYNC_MAX_INFLIGHT": "3", "OTHER": "x"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "ORDERSYNC_MAX_INFLIGHT") {
		t.Errorf("warnings = %v", warnings)
	}
}

func TestConfigFileUnknownKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("max_inflight: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := load(t, []string{"--config", file}, nil, 0)
	if err == nil || !strings.Contains(err.Error(), "max_inflight") {
		t.Errorf("err = %v", err)
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestComposeNamesOnlyRealSettings keeps docker-compose.yml in step with the
// settings: every ORDERSYNC_* variable it sets must be one the worker reads.
func TestComposeNamesOnlyRealSettings(t *testing.T) {
	data, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	worker, ok := doc.Services["worker"]
	if !ok || len(worker.Environment) == 0 {
		t.Fatal("docker-compose.yml has no worker service with an environment")
	}
	for name := range worker.Environment {
		if _, known := specByEnv(name); !known {
			t.Errorf("docker-compose.yml sets %s, which the worker does not read", name)
		}
	}
}

// TestBooleanFlagsTakeNoValue: a true/false setting's flag is a boolean flag,
// so `--kafka-tls --group-id g` sets both instead of taking "--group-id" as
// the TLS value; `--kafka-tls=false` still says false.
func TestBooleanFlagsTakeNoValue(t *testing.T) {
	env := map[string]string{"ORDERSYNC_BROKERS": "b:9092", "ORDERSYNC_TOPICS": "orders"}
	cfg, _, err := load(t, []string{"--kafka-tls", "--group-id", "g"}, env, NeedKafka)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kafka.TLS == nil || cfg.GroupID != "g" {
		t.Errorf("TLS %v, group %q; want TLS on and group g", cfg.Kafka.TLS != nil, cfg.GroupID)
	}
	cfg, _, err = load(t, []string{"--kafka-tls=false"}, env, NeedKafka)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kafka.TLS != nil {
		t.Error("--kafka-tls=false turned TLS on")
	}
}

// TestSettingNames: every setting's names follow one rule (flag in kebab and
// YAML key in snake case of the variable without its prefix), none is
// repeated, and a secret has no flag.
func TestSettingNames(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range specs() {
		base, ok := strings.CutPrefix(s.env, EnvPrefix)
		if !ok || s.yaml != strings.ToLower(base) {
			t.Errorf("%s: yaml key %q, want %q", s.env, s.yaml, strings.ToLower(base))
		}
		if want := strings.ReplaceAll(s.yaml, "_", "-"); s.flag != want && !(s.secret && s.flag == "") {
			t.Errorf("%s: flag %q, want %q", s.env, s.flag, want)
		}
		if s.secret && s.flag != "" {
			t.Errorf("%s is secret but has the flag --%s", s.env, s.flag)
		}
		for _, g := range s.groups {
			if g != GroupKafka && g != GroupLedger && g != GroupGuard && g != GroupMapper {
				t.Errorf("%s: unknown group %q", s.env, g)
			}
		}
		for _, n := range []string{s.env, "--" + s.flag, s.yaml} {
			if seen[n] && n != "--" {
				t.Errorf("%s: name %s repeated", s.env, n)
			}
			seen[n] = true
		}
	}
}

// TestBindGroups: a command registers only the flags of its groups, and an
// error about a setting it has no flag for names the variable alone.
func TestBindGroups(t *testing.T) {
	fs := flag.NewFlagSet("dlq", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := Bind(fs, GroupKafka)
	for _, name := range []string{"brokers", "dlq-topic", "kafka-tls", "kafka-password-file", "config"} {
		if fs.Lookup(name) == nil {
			t.Errorf("--%s not registered", name)
		}
	}
	for _, name := range []string{"mch-private-key-file", "max-in-flight", "mchid", "kafka-password", "http-addr", "ledger-topic"} {
		if fs.Lookup(name) != nil {
			t.Errorf("--%s registered by a Kafka-only command", name)
		}
	}
	if err := fs.Parse([]string{"--brokers", "k:9092"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ORDERSYNC_MAX_IN_FLIGHT": "0"}
	_, _, err := l.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil, NeedKafka)
	if err == nil || !strings.Contains(err.Error(), "ORDERSYNC_MAX_IN_FLIGHT:") {
		t.Errorf("err = %v, want it to name ORDERSYNC_MAX_IN_FLIGHT without a flag", err)
	}
}

// TestSettingsLabels: Config.Settings names each setting as the command
// registered it (the flag only when bound) and keeps none of the values.
func TestSettingsLabels(t *testing.T) {
	fs := flag.NewFlagSet("dlq", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := Bind(fs, GroupKafka)
	if err := fs.Parse([]string{"--brokers", "k:9092"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ORDERSYNC_KAFKA_SASL_MECHANISM": "PLAIN", "ORDERSYNC_KAFKA_USERNAME": "u",
		"ORDERSYNC_KAFKA_PASSWORD": "hunter2-secret", "ORDERSYNC_HTTP_ADDR": ":9191"}
	cfg, _, err := l.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil, NeedKafka)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ got, want string }{
		{cfg.Settings.DLQTopic.Label(), "ORDERSYNC_DLQ_TOPIC (--dlq-topic)"},
		{cfg.Settings.HTTPAddr.Label(), "ORDERSYNC_HTTP_ADDR"},
		{cfg.Settings.KafkaPassword.Label(), "ORDERSYNC_KAFKA_PASSWORD"},
	} {
		if tt.got != tt.want {
			t.Errorf("Label() = %q, want %q", tt.got, tt.want)
		}
	}
	for _, s := range specs() {
		if v := s.field(&cfg.Settings); v.raw != "" || v.given {
			t.Errorf("Settings.%s keeps its value", s.env)
		}
	}
}
