package consumer

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestHandoffsNeverSkipUnfinished drives random histories of one partition
// through owners that fetch, finish events out of order, commit (offset and
// metadata), lose some commits and hand the partition over — to another
// process, or back to the same one — and checks the one property that must
// never break: an offset an owner passes over as finished was finished by
// some owner, and every offset below the committed one was finished.
func TestHandoffsNeverSkipUnfinished(t *testing.T) {
	passedOver := 0
	for seed := range uint64(3000) {
		rng := rand.New(rand.NewPCG(seed, 7))
		// The partition: offsets 0..n-1, a few missing (compacted).
		n := 20 + rng.IntN(200)
		exists := make([]bool, n)
		for i := range exists {
			exists[i] = rng.IntN(10) != 0
		}
		finished := make([]bool, n) // by any owner, ever
		var committedOff int64 = -2 // kafka.FirstOffset: nothing committed
		var committedMeta string
		procs := []*Consumer{newTestConsumer(t), newTestConsumer(t)} // two members
		gen := int32(1)
		for range 1 + rng.IntN(8) { // generations
			i := rng.IntN(len(procs))
			if rng.IntN(6) == 0 {
				procs[i] = newTestConsumer(t) // that member crashed and restarted
			}
			proc := procs[i]
			var ahead []offsetRange
			if committedOff >= 0 && committedMeta != "" {
				runs, err := decodeFinished(committedMeta, committedOff)
				if err != nil {
					t.Fatalf("seed %d: own metadata %q unreadable: %v", seed, committedMeta, err)
				}
				ahead = runs
			}
			p := proc.newPartition("orders", 0, committedOff)
			proc.resume(p, gen, ahead)
			from := max(p.start, 0)
			var fetched []int64
			limit := 10 + rng.IntN(60)
			for off := from; off < int64(n) && len(fetched) < limit; off++ {
				if !exists[off] {
					continue
				}
				if p.tracker.add(off, time.Time{}, int64(n)) {
					if !finished[off] {
						t.Fatalf("seed %d: offset %d passed over as finished, but no owner finished it", seed, off)
					}
					passedOver++
					continue
				}
				fetched = append(fetched, off)
			}
			rng.Shuffle(len(fetched), func(i, j int) { fetched[i], fetched[j] = fetched[j], fetched[i] })
			done := fetched[:rng.IntN(len(fetched)+1)]
			for i, off := range done {
				p.tracker.finish(off)
				finished[off] = true
				if rng.IntN(4) == 0 || i == len(done)-1 {
					off, meta, ok := p.tracker.committable([]int{0, minMetaBytes, maxMetaBytes}[rng.IntN(3)])
					if ok && rng.IntN(5) != 0 { // some commits are lost
						committedOff, committedMeta = off, meta
						p.tracker.committed(off, meta)
					}
				}
			}
			for off := int64(0); off < committedOff; off++ {
				if exists[off] && !finished[off] {
					t.Fatalf("seed %d: committed %d past unfinished offset %d", seed, committedOff, off)
				}
			}
			proc.remember(p, gen)
			gen += int32(1 + rng.IntN(2))
		}
	}
	if passedOver == 0 {
		t.Fatal("no offset was ever passed over: the histories prove nothing")
	}
	t.Logf("%d offsets passed over as finished, each finished before", passedOver)
}
