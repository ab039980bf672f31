package metrics

import (
	"testing"
	"time"
)

// TestGroupJoinedFollowsMembership: ordersync_consumer_group_joined reads the membership at each scrape.
func TestGroupJoinedFollowsMembership(t *testing.T) {
	m := New("test")
	joined := false
	m.GroupJoined(func() (bool, time.Time) { return joined, time.Time{} })
	for _, tt := range []struct {
		giveJoined bool
		want       float64
	}{{false, 0}, {true, 1}, {false, 0}} {
		joined = tt.giveJoined
		families, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := -1.0
		for _, f := range families {
			if f.GetName() == "ordersync_consumer_group_joined" {
				got = f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		if got != tt.want {
			t.Fatalf("joined=%v: gauge %v, want %v", tt.giveJoined, got, tt.want)
		}
	}
}
