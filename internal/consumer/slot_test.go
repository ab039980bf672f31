package consumer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/ledger"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// gatedLedger holds every ledger write until the sandbox has accepted more
// uploads than the in-flight limit, or until hold has passed since the first
// write came; it records how many uploads the sandbox had accepted when the
// gate opened.
type gatedLedger struct {
	*switchLedger
	sb    *sandbox.Server
	limit int64
	hold  time.Duration

	once       sync.Once
	open       chan struct{}
	acceptedAt int64
}

func (l *gatedLedger) Write(ctx context.Context, partition int, r ledger.Record) error {
	l.once.Do(func() {
		go func() {
			deadline := time.Now().Add(l.hold)
			for l.sb.Stats().Accepted <= l.limit && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			l.acceptedAt = l.sb.Stats().Accepted
			close(l.open)
		}()
	})
	select {
	case <-l.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return l.switchLedger.Write(ctx, partition, r)
}

// TestDeliveredUploadHoldsItsSlotUntilTheLedgerAck: an upload the API
// accepted keeps its in-flight slot until its ledger record is acknowledged,
// so at most MaxInFlight accepted uploads are ever unrecorded — what a crash
// can repeat. While ledger writes are held, the sandbox accepts no more than
// the in-flight limit.
func TestDeliveredUploadHoldsItsSlotUntilTheLedgerAck(t *testing.T) {
	const inFlight = 16 // startWithLedger's MaxInFlight
	st := newStack(t, sandbox.Faults{}, inFlight)
	c := newCluster(t, 2)
	brokers := c.ListenAddrs()
	var msgs []kafka.Message
	for i := range inFlight + 8 {
		no := fmt.Sprintf("2026112603%04d", i)
		msgs = append(msgs, kafka.Message{Key: []byte(no), Value: orderEvent(no, "order.paid", 20, true, 1)})
	}
	produce(t, brokers, srcTopic, msgs)
	ends := kafkatest.EndOffsets(t, brokers[0], srcTopic)

	led := &gatedLedger{switchLedger: newTestLedger(t, brokers), sb: st.sb, limit: inFlight, hold: 3 * time.Second,
		open: make(chan struct{})}
	in := startWithLedger(t, brokers, "a", st, led, nil)
	kafkatest.WaitFor(t, "all offsets committed", func() bool { return allCommitted(t, c, ends) })
	in.stop(t)
	<-led.open
	if led.acceptedAt > inFlight {
		t.Errorf("the sandbox accepted %d uploads while no ledger write was acknowledged; at most the %d in flight",
			led.acceptedAt, inFlight)
	}
	if got := st.sb.Stats().Accepted; got != int64(len(msgs)) {
		t.Errorf("sandbox accepted %d uploads, want %d", got, len(msgs))
	}
}
