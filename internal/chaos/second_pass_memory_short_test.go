//go:build !chaos

package chaos

import "testing"

// The second pass's memory scenarios in the short tier
// (second_pass_memory_test.go). The worker is built without the race
// detector; the bounds are the budget plus room for the worker's own
// baseline, well under what the code before the fixes reached.

// 6 partitions × 18 events of 900 KiB (95 MiB) held with an 8 MiB budget:
// half of it, the read-ahead cap, is less than the six partitions' 1 MiB
// fetches, so idle partitions' long polls and a partition with records
// compete for reservations.
func TestPendingBytesBoundedShort(t *testing.T) {
	memHoldLarge(t, 18, 80<<20, shortTimeout)
}

// 4 answers of 256 MiB, 3 uploads in flight.
func TestHugeResponseBodiesShort(t *testing.T) {
	memHugeResponses(t, 60, 4, 256<<20, 64<<20, shortTimeout)
}
