package consumer

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// TestResumeSkipsWhatThisProcessFinished covers a partition coming back to
// this process after a generation whose commit did not land: it resumes past
// the contiguous finished offsets and skips the ones finished behind an
// unfinished event — but only while the group's committed offset is still
// the last one this process landed; after another member committed, it
// starts from that commit as usual.
func TestResumeSkipsWhatThisProcessFinished(t *testing.T) {
	tests := []struct {
		name       string
		giveLanded int64 // last commit of this process the broker took (-1 none)
		giveStart  int64 // committed offset the group hands out
		giveGen    int32 // generation of the assignment; the old one was 7
		wantStart  int64
		wantSkip   []int64
	}{
		{"commit lost", 5, 5, 9, 10, []int64{12, 15}},
		{"no commit ever", -1, -2, 9, 10, []int64{12, 15}},
		{"final commit landed", 10, 10, 9, 10, []int64{12, 15}},
		{"another member committed", 5, 13, 9, 13, nil},
		{"another member committed further", 10, 20, 9, 20, nil},
		{"next generation, commit acknowledged but not seen", 5, 8, 8, 10, []int64{12, 15}},
		{"next generation, someone committed further", 5, 13, 8, 13, []int64{15}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{Brokers: []string{"127.0.0.1:1"}, Topics: []string{"orders"}, GroupID: "g",
				DLQTopic: "orders.dlq", MaxInFlight: 4}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			// An earlier generation finished 0–9, 12 and 15; 10 was abandoned.
			old := c.newPartition("orders", 0, 0)
			now := time.Now()
			for off := int64(0); off < 16; off++ {
				old.tracker.add(off, now, 16)
			}
			for _, off := range []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15} {
				old.tracker.finish(off)
			}
			if tt.giveLanded >= 0 {
				old.tracker.committed(tt.giveLanded)
			}
			c.remember(old, 7)

			p := c.newPartition("orders", 0, tt.giveStart)
			c.resume(p, tt.giveGen)
			got := slices.Sorted(maps.Keys(p.skip))
			if p.start != tt.wantStart || !slices.Equal(got, tt.wantSkip) {
				t.Errorf("start %d skip %v, want %d %v", p.start, got, tt.wantStart, tt.wantSkip)
			}
			if off, ok := p.tracker.committable(); tt.wantStart == 10 && tt.giveStart < 10 && (!ok || off != 10) {
				t.Errorf("committable %d %v, want 10 at once", off, ok)
			}
			if _, ok := c.finished[topicPartition{"orders", 0}]; ok {
				t.Error("progress kept after the partition was resumed")
			}
		})
	}
}
