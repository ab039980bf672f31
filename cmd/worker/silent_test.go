package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// silentBroker accepts TCP connections, reads what is sent and never
// answers, like a wrong port or a load balancer with nothing behind it.
// asked is closed once a request has arrived.
type silentBroker struct {
	ln    net.Listener
	asked chan struct{}
	once  sync.Once
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newSilentBroker(t *testing.T) *silentBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &silentBroker{ln: ln, asked: make(chan struct{})}
	b.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			b.wg.Go(func() {
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					b.once.Do(func() { close(b.asked) })
				}
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		b.mu.Lock()
		for _, c := range b.conns {
			_ = c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

// TestRunStopsOnSignalAgainstSilentBroker starts run against a broker that
// never answers: once run has sent it a request, the stop signal (ctx) ends it.
func TestRunStopsOnSignalAgainstSilentBroker(t *testing.T) {
	runEnv(t)
	b := newSilentBroker(t)
	t.Setenv("ORDERSYNC_BROKERS", b.ln.Addr().String())
	t.Setenv("ORDERSYNC_HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("ORDERSYNC_SHUTDOWN_TIMEOUT", "1s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		exited <- dispatch(ctx, func() {}, []string{"run"}, strings.NewReader(""), &bytes.Buffer{}, &stderr)
	}()
	select {
	case <-b.asked:
	case <-time.After(30 * time.Second):
		t.Fatal("run never sent the broker a request")
	}
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
	b := newSilentBroker(t)
	t.Setenv("ORDERSYNC_BROKERS", b.ln.Addr().String())
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
