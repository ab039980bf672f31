//go:build chaos

package chaos

import "testing"

// The second pass's memory scenarios in the long tier
// (second_pass_memory_test.go). The worker is built with the race
// detector, whose shadow memory raises its baseline: the bounds are wider
// than the short tier's, and the loads larger.

// 6 partitions × 40 events of 900 KiB (211 MiB) held, an 8 MiB budget.
func TestPendingBytesBoundedLong(t *testing.T) {
	memHoldLarge(t, 40, 256<<20, longTimeout)
}

// 8 answers of 256 MiB, 3 uploads in flight.
func TestHugeResponseBodiesLong(t *testing.T) {
	memHugeResponses(t, 600, 8, 256<<20, 256<<20, longTimeout)
}
