package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
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

// TestEndpointsAnswerWhileStarting starts run against a broker that never
// answers, so the start-up topic checks wait out their bound: meanwhile
// /healthz answers 200 and /readyz 503 "starting" (a probe sees a status,
// not a timeout), and /metrics is served.
func TestEndpointsAnswerWhileStarting(t *testing.T) {
	runEnv(t)
	b := kafkatest.SilentBroker(t)
	addr := freeAddr(t)
	t.Setenv("ORDERSYNC_BROKERS", b.Addr())
	t.Setenv("ORDERSYNC_HTTP_ADDR", addr)
	t.Setenv("ORDERSYNC_SHUTDOWN_TIMEOUT", "1s")
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() {
		exited <- dispatch(ctx, func() {}, []string{"run"}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	}()
	defer func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			t.Fatal("run did not stop after the signal")
		}
	}()
	b.WaitAsked(t) // a start-up check is waiting on the broker
	client := &http.Client{Timeout: 5 * time.Second}
	for path, want := range map[string]struct {
		code int
		body string
	}{
		"/healthz": {http.StatusOK, "ok"},
		"/readyz":  {http.StatusServiceUnavailable, "starting"},
		"/metrics": {http.StatusOK, "ordersync_build_info"},
	} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Errorf("GET %s while starting: %v", path, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want.code || !strings.Contains(string(body), want.body) {
			t.Errorf("GET %s while starting: %d %q, want %d with %q", path, resp.StatusCode, body, want.code, want.body)
		}
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
