package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// TestRunStopsOnSignalAgainstSilentBroker starts run against a broker that
// never answers: once run has sent it a request, the stop signal (ctx) ends it.
func TestRunStopsOnSignalAgainstSilentBroker(t *testing.T) {
	runEnv(t)
	b := kafkatest.SilentBroker(t)
	t.Setenv("ORDERSYNC_BROKERS", b.Addr())
	t.Setenv("ORDERSYNC_HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("ORDERSYNC_SHUTDOWN_TIMEOUT", "1s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		exited <- dispatch(ctx, func() {}, []string{"run"}, strings.NewReader(""), &bytes.Buffer{}, &stderr)
	}()
	b.WaitAsked(t)
	cancel() // SIGTERM
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop after the signal")
	}
}

// TestDLQTimeoutAgainstSilentBroker runs `worker dlq --timeout 2s` against a
// broker that never answers: it fails with one line saying Kafka did not
// answer in time.
func TestDLQTimeoutAgainstSilentBroker(t *testing.T) {
	clearEnv(t)
	b := kafkatest.SilentBroker(t)
	t.Setenv("ORDERSYNC_BROKERS", b.Addr())
	t.Setenv("ORDERSYNC_DLQ_TOPIC", "orders.dlq")
	exited := make(chan struct{})
	var code int
	var stderr string
	go func() {
		defer close(exited)
		code, _, stderr = dispatchArgs(t, "dlq", "--timeout", "2s")
	}()
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		t.Fatal("worker dlq --timeout 2s did not return")
	}
	if code == exitOK || !strings.Contains(stderr, "no answer from Kafka within 2s") ||
		!strings.HasSuffix(strings.TrimSpace(stderr), "(--timeout 2s)") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want a failure saying Kafka did not answer within 2s", code, stderr)
	}
}
