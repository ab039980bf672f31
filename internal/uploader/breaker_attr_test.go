package uploader_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/uploader"
)

// TestOneFailingOrderDoesNotPause sends only an order that always gets 500:
// failures of one event are not an outage, so the breaker stays closed and
// the upload exhausts its own budget.
func TestOneFailingOrderDoesNotPause(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{Rejections: []sandbox.Rejection{{OrderNo: "flaky", Status: 500, Code: "SYSTEM_ERROR"}}}); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.BreakerThreshold = 3
	obs := newObserver()
	cfg.Observer = obs
	u := newUploader(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := u.Upload(ctx, orderBody("flaky"))
	if out.Class != uploader.RetriesExhausted || out.HTTPStatus != 500 {
		t.Errorf("outcome %+v (%v), want retries exhausted on 500", out, out.Err)
	}
	if _, paused, reasons := obs.snapshot(); len(paused) != 0 {
		t.Errorf("paused %v (%v) by one order's failures", paused, reasons)
	}
}

// TestSkewedResponseTimestampIsClockFault answers with a timestamp ten
// minutes off: uploads pause as a deployment fault that names the clock, not
// as an upstream outage.
func TestSkewedResponseTimestampIsClockFault(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{TimestampSkew: sandbox.Duration(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	obs := newObserver()
	cfg.Observer = obs
	u := newUploader(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan uploader.Outcome, 1)
	go func() { done <- u.Upload(ctx, orderBody("o")) }()
	kafkatest.WaitFor(t, "a pause reported", func() bool { _, paused, _ := obs.snapshot(); return len(paused) > 0 })
	cancel()
	<-done
	_, _, reasons := obs.snapshot()
	if !strings.Contains(reasons[0], "deployment fault") || !strings.Contains(reasons[0], "clock") {
		t.Errorf("pause reason %q, want a deployment fault naming the clock", reasons[0])
	}
}
