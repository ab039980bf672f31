package consumer

import (
	"context"
	"testing"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// TestReadAheadReservedInTurn spends the read-ahead half of the budget on
// readers whose fetches come back empty and reserve again at once (idle
// partitions long-polling) while another reader waits to reserve: the
// waiter must take the first reservation given back, not lose every one of
// them to the reader that gave it back.
func TestReadAheadReservedInTurn(t *testing.T) {
	b := newByteBudget(8) // read-ahead capped at 4
	ctx := context.Background()
	for range 4 {
		if err := b.reserve(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		if err := b.reserve(ctx, 1); err != nil {
			t.Error(err)
		}
	}()
	kafkatest.WaitFor(t, "a reader waiting to reserve", func() bool { return b.waiting() == 1 })

	idle, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-waited; cancel() }()
	const cycles = 1000
	gaveBack := 0
	for ; gaveBack < cycles; gaveBack++ {
		b.settle(1, 0) // an empty fetch
		if b.reserve(idle, 1) != nil {
			gaveBack++
			break // the waiter took the bytes: this reader waits behind it
		}
	}
	select {
	case <-waited:
	default:
		t.Fatalf("the waiting reader got no reservation while idle readers gave back and took %d", gaveBack)
	}
	if gaveBack != 1 {
		t.Errorf("the waiting reader reserved after %d reservations were given back, want the first", gaveBack)
	}
}
