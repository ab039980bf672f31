package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/buildcrypto"
	"github.com/ordersync/ordersync/internal/config"
	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// clearEnv unsets every ORDERSYNC_* variable of the test process for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "ORDERSYNC_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

func dispatchArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := dispatch(context.Background(), func() {}, args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// runEnv sets a complete, valid run configuration with throwaway keys.
func runEnv(t *testing.T) {
	t.Helper()
	clearEnv(t)
	creds, err := sandbox.GenerateCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"ORDERSYNC_BROKERS": "127.0.0.1:1", "ORDERSYNC_TOPICS": "orders",
		"ORDERSYNC_MCHID": creds.MchID, "ORDERSYNC_MCH_CERT_SERIAL": creds.MchCertSerial,
		"ORDERSYNC_MCH_PRIVATE_KEY_FILE":      creds.MchPrivateKeyFile,
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE": creds.WechatPayPublicKeyFile,
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID":   creds.WechatPayPublicKeyID,
		"ORDERSYNC_SP_APPID":                  "wx1234567890abcdef",
	} {
		t.Setenv(k, v)
	}
}

func TestRunStopsAtStartNamingTheSetting(t *testing.T) {
	runEnv(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name     string
		giveEnv  map[string]string
		giveArgs []string
		want     string
	}{
		{"missing brokers", map[string]string{"ORDERSYNC_BROKERS": ""}, nil, "ORDERSYNC_BROKERS"},
		{"bad in-flight flag", nil, []string{"--max-in-flight", "zero"}, "ORDERSYNC_MAX_IN_FLIGHT (--max-in-flight)"},
		{"http addr taken", map[string]string{"ORDERSYNC_HTTP_ADDR": busy.Addr().String()}, nil, "ORDERSYNC_HTTP_ADDR"},
		{"sp_appid too long", map[string]string{"ORDERSYNC_SP_APPID": strings.Repeat("w", 33)}, nil, "ORDERSYNC_SP_APPID"},
		{"missing key file", map[string]string{"ORDERSYNC_MCH_PRIVATE_KEY_FILE": "/nonexistent/apiclient_key.pem"}, nil, "ORDERSYNC_MCH_PRIVATE_KEY_FILE"},
		{"stray argument", nil, []string{"now"}, `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.giveEnv {
				t.Setenv(k, v)
			}
			code, _, stderr := dispatchArgs(t, append([]string{"run"}, tt.giveArgs...)...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line naming %s", code, stderr, tt.want)
			}
			if strings.Contains(stderr, "PRIVATE KEY") {
				t.Errorf("stderr shows key material: %q", stderr)
			}
		})
	}
}

func TestSubcommands(t *testing.T) {
	clearEnv(t)
	if code, out, _ := dispatchArgs(t, "version"); code != exitOK || !strings.HasPrefix(out, "ordersync ") ||
		!strings.HasSuffix(out, " crypto="+buildcrypto.Name()+"\n") {
		t.Errorf("version: exit %d, %q, want \"ordersync VERSION crypto=%s\"", code, out, buildcrypto.Name())
	}
	if code, _, stderr := dispatchArgs(t, "sync"); code != exitUsage || !strings.Contains(stderr, `unknown subcommand "sync"`) {
		t.Errorf("unknown subcommand: exit %d, %q", code, stderr)
	}
	if code, out, _ := dispatchArgs(t, "help"); code != exitOK || !strings.Contains(out, "worker validate") {
		t.Errorf("help: exit %d, %q", code, out)
	}
	for _, arg := range []string{"--help", "-h", "-help"} {
		if code, out, _ := dispatchArgs(t, arg); code != exitOK || !strings.Contains(out, "worker replay") {
			t.Errorf("%s: exit %d, %q; want the subcommands", arg, code, out)
		}
	}
	for _, arg := range []string{"--version", "-version"} {
		if code, out, _ := dispatchArgs(t, arg); code != exitOK || !strings.HasPrefix(out, "ordersync ") {
			t.Errorf("%s: exit %d, %q; want the version", arg, code, out)
		}
	}
	if code, _, stderr := dispatchArgs(t, "run", "-h"); code != exitOK || !strings.Contains(stderr, "-max-in-flight") {
		t.Errorf("run -h: exit %d, %q", code, stderr)
	}
}

// TestRunRefusesCompactedDeadLetterTopic starts run against a broker whose
// dead-letter topic compacts by key: it stops at once, exit 2, naming the
// setting, instead of letting dead letters of one order replace each other.
func TestRunRefusesCompactedDeadLetterTopic(t *testing.T) {
	runEnv(t)
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, "orders"))
	if err := c.CreateTopic("orders.dlq", 1, map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORDERSYNC_BROKERS", c.ListenAddrs()[0])
	t.Setenv("ORDERSYNC_HTTP_ADDR", "127.0.0.1:0")
	code, _, stderr := dispatchArgs(t, "run")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != exitUsage || !strings.HasPrefix(last, "worker: invalid setting ORDERSYNC_DLQ_TOPIC (--dlq-topic): orders.dlq: the topic is compacted") {
		t.Errorf("exit %d, last stderr line %q; want exit 2 naming ORDERSYNC_DLQ_TOPIC", code, last)
	}
}

// TestRunRechecksDeadLetterTopicInBackground fails the start-up check of the
// dead-letter topic once: the check is retried in the background, finds the
// topic compacted and stops the worker, exit 2 naming the setting.
func TestRunRechecksDeadLetterTopicInBackground(t *testing.T) {
	runEnv(t)
	c := kafkatest.Cluster(t, kfake.SeedTopics(1, "orders"))
	if err := c.CreateTopic("orders.dlq", 1, map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.DescribeConfigs}, Err: kerr.BrokerNotAvailable, TopLevel: false})
	t.Setenv("ORDERSYNC_BROKERS", c.ListenAddrs()[0])
	t.Setenv("ORDERSYNC_HTTP_ADDR", "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := dispatch(ctx, func() {}, []string{"run"}, strings.NewReader(""), &stdout, &stderr)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if ctx.Err() != nil || code != exitUsage || !strings.HasPrefix(last, "worker: invalid setting ORDERSYNC_DLQ_TOPIC (--dlq-topic): orders.dlq: the topic is compacted") {
		t.Errorf("exit %d (timed out: %v), last stderr line %q; want exit 2 naming ORDERSYNC_DLQ_TOPIC", code, ctx.Err() != nil, last)
	}
}

// TestRunStopsOnJoinRefusals starts run against brokers that refuse the join
// for a setting retrying cannot fix: exit 2 with a last line naming it.
func TestRunStopsOnJoinRefusals(t *testing.T) {
	tests := []struct {
		name    string
		opts    []kfake.Opt
		giveEnv map[string]string
		want    string
	}{
		{"wrong password", []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("PLAIN", "ordersync", "right")},
			map[string]string{"ORDERSYNC_KAFKA_SASL_MECHANISM": "PLAIN", "ORDERSYNC_KAFKA_USERNAME": "ordersync", "ORDERSYNC_KAFKA_PASSWORD": "wrong"},
			"worker: invalid setting ORDERSYNC_KAFKA_USERNAME (--kafka-username) or ORDERSYNC_KAFKA_PASSWORD: "},
		{"session timeout over the broker's maximum", []kfake.Opt{kfake.GroupMaxSessionTimeout(2 * time.Second)},
			map[string]string{"ORDERSYNC_SESSION_TIMEOUT": "3s"},
			"worker: invalid setting ORDERSYNC_SESSION_TIMEOUT (--session-timeout): "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runEnv(t)
			c := kafkatest.Cluster(t, append([]kfake.Opt{kfake.SeedTopics(1, "orders", "orders.dlq")}, tt.opts...)...)
			t.Setenv("ORDERSYNC_BROKERS", c.ListenAddrs()[0])
			t.Setenv("ORDERSYNC_HTTP_ADDR", "127.0.0.1:0")
			for k, v := range tt.giveEnv {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := dispatch(ctx, func() {}, []string{"run"}, strings.NewReader(""), &stdout, &stderr)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if ctx.Err() != nil || code != exitUsage || !strings.HasPrefix(last, tt.want) {
				t.Errorf("exit %d (timed out: %v), last stderr line %q; want exit 2 and %q", code, ctx.Err() != nil, last, tt.want)
			}
			if strings.Contains(stderr.String(), "wrong") && strings.Contains(tt.name, "password") {
				t.Errorf("stderr shows the password: %q", stderr.String())
			}
		})
	}
}

// TestSubcommandFlags: each subcommand's -h lists the flags of the settings
// it uses and no others; no secret is ever a flag.
func TestSubcommandFlags(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		cmd          string
		want, reject []string
	}{
		{"run", []string{"-brokers", "-mch-private-key-file", "-max-in-flight", "-kafka-password-file", "-config"}, []string{"-kafka-password "}},
		{"dlq", []string{"-brokers", "-dlq-topic", "-kafka-tls", "-kafka-password-file", "-class", "-config"},
			[]string{"-mch-private-key-file", "-max-in-flight", "-mchid", "-http-addr", "-wechatpay-cert-file", "-kafka-password ", "-ledger-topic"}},
		{"replay", []string{"-brokers", "-mchid", "-merchants-file", "-ledger", "-ledger-retention", "-dry-run"}, []string{"-mch-private-key-file", "-mch-cert-serial", "-max-in-flight", "-retry-max-elapsed"}},
		{"ledger", []string{"-brokers", "-ledger-topic", "-merchant"}, []string{"-mch-private-key-file", "-mchid", "-log-level", "-ledger-retention"}},
		{"report", []string{"-brokers", "-format"}, []string{"-mch-private-key-file", "-session-timeout"}},
		{"validate", []string{"-mode", "-mchid", "-mapping-file", "-skip-types"}, []string{"-brokers", "-mch-private-key-file", "-kafka-tls"}},
	}
	for _, tt := range tests {
		code, _, stderr := dispatchArgs(t, tt.cmd, "-h")
		if code != exitOK {
			t.Errorf("%s -h: exit %d", tt.cmd, code)
		}
		for _, f := range tt.want {
			if !strings.Contains(stderr, "  "+f) {
				t.Errorf("%s -h does not list %s", tt.cmd, f)
			}
		}
		for _, f := range tt.reject {
			if strings.Contains(stderr, "  "+f) {
				t.Errorf("%s -h lists %s", tt.cmd, f)
			}
		}
	}
}

// TestExitStatus: the exit status comes from the error's type, and the one
// line on stderr from its text unless the command already reported it.
func TestExitStatus(t *testing.T) {
	tests := []struct {
		give     error
		code     int
		wantLine string
	}{
		{nil, exitOK, ""},
		{flag.ErrHelp, exitOK, ""},
		{&config.Error{Setting: "ORDERSYNC_MODE (--mode)", Reason: "bad"}, exitUsage, "worker: invalid setting ORDERSYNC_MODE (--mode): bad\n"},
		{fmt.Errorf("start: %w", &config.Error{Setting: "ORDERSYNC_MODE", Reason: "bad"}), exitUsage, "worker: start: invalid setting ORDERSYNC_MODE: bad\n"},
		{usageError("worker ledger", errors.New("--order is required")), exitUsage, "worker ledger: --order is required\n"},
		{failed("worker replay", errors.New("no broker")), exitFailed, "worker replay: no broker\n"},
		{status(exitFailed), exitFailed, ""},
		{status(exitOK), exitOK, ""},
		{errors.New("disk full"), exitFailed, "worker: disk full\n"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if code := exitStatus(tt.give, &stderr); code != tt.code || stderr.String() != tt.wantLine {
			t.Errorf("exitStatus(%v) = %d, %q; want %d, %q", tt.give, code, stderr.String(), tt.code, tt.wantLine)
		}
	}
}
