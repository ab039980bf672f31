package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/kafkatest"
)

// runReplayArgs parses args as `worker replay` does and runs it.
func runReplayArgs(t *testing.T, cfg replayConfig, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := bindReplayFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = exitStatus(runReplay(ctx, cfg, f, &out, &errOut), &errOut)
	return code, out.String(), errOut.String()
}

func runDLQArgs(t *testing.T, cfg replayConfig, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	fs := flag.NewFlagSet("dlq", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := bindDLQFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = exitStatus(runDLQ(ctx, cfg, f, &out, &errOut), &errOut)
	return code, out.String(), errOut.String()
}

func TestReplayUsageErrors(t *testing.T) {
	cfg := replayConfig{Brokers: []string{"127.0.0.1:1"}, DLQTopic: "orders.dlq"}
	tests := []struct {
		name     string
		giveCfg  func(*replayConfig)
		giveArgs []string
		wantFlag string
	}{
		{"class", nil, []string{"--class", "rejected,payed"}, "--class"},
		{"since", nil, []string{"--since", "yesterday"}, "--since"},
		{"until", nil, []string{"--until", "-2h"}, "--until"},
		{"window", nil, []string{"--since", "2026-11-26T02:00:00Z", "--until", "2026-11-26T01:00:00Z"}, "--until"},
		{"limit", nil, []string{"--limit", "-1"}, "--limit"},
		{"max replays", nil, []string{"--max-replays", "0"}, "--max-replays"},
		{"to the dlq", nil, []string{"--to", "orders.dlq"}, "--to"},
		{"ledger", nil, []string{"--replayed-topic", "orders.dlq"}, "--replayed-topic"},
		{"no dlq", func(c *replayConfig) { c.DLQTopic = "" }, nil, "--dlq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			if tt.giveCfg != nil {
				tt.giveCfg(&c)
			}
			code, out, errOut := runReplayArgs(t, c, tt.giveArgs...)
			if code != exitUsage || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, exitUsage)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "worker replay: "+tt.wantFlag+":") {
				t.Errorf("stderr %q: want one line naming %s", errOut, tt.wantFlag)
			}
		})
	}
}

func TestReplayAndDLQCommands(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the cluster's cleanup
	c := kafkatest.Cluster(t, kfake.SeedTopics(3, "orders"), kfake.SeedTopics(1, "orders.dlq"))
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	cfg := replayConfig{Brokers: c.ListenAddrs(), DLQTopic: "orders.dlq", Transport: tr}

	w := &kafka.Writer{Addr: kafka.TCP(cfg.Brokers...), Topic: "orders.dlq", Transport: tr, BatchTimeout: time.Millisecond,
		RequiredAcks: kafka.RequireAll}
	var msgs []kafka.Message
	for i, class := range []string{dlq.ClassRejected, dlq.ClassRejected, dlq.ClassInvalidEvent} {
		msgs = append(msgs, kafka.Message{
			Key:   []byte{'O', byte('1' + i)},
			Value: []byte(`{"customer":{"login_token":"071oYFSN19sCH31AyNSN15QDSN1oYFSA"}}`),
			Headers: []kafka.Header{
				{Key: dlq.HeaderErrorClass, Value: []byte(class)},
				{Key: dlq.HeaderErrorCode, Value: []byte("INVALID_REQUEST")},
				{Key: dlq.HeaderOriginalTopic, Value: []byte("orders")},
				{Key: dlq.HeaderFailedAt, Value: []byte("2026-11-26T01:00:00Z")},
			},
		})
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close writer: %v", err)
	}

	code, out, errOut := runDLQArgs(t, cfg)
	if code != exitOK || !strings.Contains(out, "3 pending") || !strings.Contains(out, "       2  rejected") {
		t.Errorf("dlq: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runReplayArgs(t, cfg, "--class", "rejected", "--dry-run")
	if code != exitOK || strings.Count(out, "would-republish") != 2 || !strings.Contains(errOut, "would republish 2") {
		t.Errorf("dry run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runReplayArgs(t, cfg, "--class", "rejected")
	if code != exitOK || strings.Count(out, "republished") != 2 || !strings.Contains(errOut, "republished 2,") {
		t.Errorf("replay: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runReplayArgs(t, cfg, "--class", "rejected")
	if code != exitOK || out != "" || !strings.Contains(errOut, "republished 0, passed over by filter 1, already replayed 2") {
		t.Errorf("replay again: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runDLQArgs(t, cfg)
	if code != exitOK || !strings.Contains(out, "2 already replayed, 1 pending") {
		t.Errorf("dlq after replay: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, "071oYFSN19sCH31AyNSN15QDSN1oYFSA") {
		t.Errorf("output carries the login_token")
	}
	code, _, errOut = runReplayArgs(t, replayConfig{Brokers: cfg.Brokers, DLQTopic: "missing.dlq", Transport: tr})
	if code != exitFailed || !strings.Contains(errOut, "dead-letter topic does not exist") {
		t.Errorf("missing topic: exit %d, stderr %q", code, errOut)
	}
}
