package consumer

import (
	"context"
	"testing"
	"time"
)

func TestTrackerCommitsHighestContiguous(t *testing.T) {
	tests := []struct {
		name       string
		giveAdd    []int64
		giveFinish []int64
		want       int64 // -1: nothing committable
		wantPend   int
	}{
		{name: "nothing finished", giveAdd: []int64{0, 1, 2}, want: -1, wantPend: 3},
		{name: "in order", giveAdd: []int64{0, 1, 2}, giveFinish: []int64{0, 1}, want: 2, wantPend: 1},
		{name: "gap holds the commit", giveAdd: []int64{5, 6, 7, 8}, giveFinish: []int64{6, 7, 8}, want: -1, wantPend: 4},
		{name: "gap filled", giveAdd: []int64{5, 6, 7, 8}, giveFinish: []int64{6, 8, 5}, want: 7, wantPend: 2},
		{name: "compacted offsets", giveAdd: []int64{3, 10, 11}, giveFinish: []int64{11, 10, 3}, want: 12, wantPend: 0},
		{name: "unknown offset ignored", giveAdd: []int64{0}, giveFinish: []int64{4}, want: -1, wantPend: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(10)
			for _, o := range tt.giveAdd {
				tr.add(o, time.Now(), 100)
			}
			for _, o := range tt.giveFinish {
				tr.finish(o)
			}
			got, _, ok := tr.committable(0)
			if !ok {
				got = -1
			}
			if got != tt.want {
				t.Errorf("committable = %d, want %d", got, tt.want)
			}
			if n, _ := tr.stats(); n != tt.wantPend {
				t.Errorf("pending = %d, want %d", n, tt.wantPend)
			}
			if ok {
				if lag, advanced := tr.committed(got, ""); lag != 100-got || !advanced {
					t.Errorf("lag = %d advanced %v, want %d true", lag, advanced, 100-got)
				}
				if _, _, again := tr.committable(0); again {
					t.Error("committable again after committed")
				}
			}
		})
	}
}

func TestTrackerWindowBlocksFetching(t *testing.T) {
	tr := newTracker(2)
	tr.add(0, time.Now(), -1)
	tr.add(1, time.Now(), -1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := tr.waitSpace(ctx); err == nil {
		t.Fatal("waitSpace returned with a full window")
	}
	tr.finish(1) // not contiguous: window stays full
	if n, _ := tr.stats(); n != 2 {
		t.Fatalf("pending = %d, want 2", n)
	}
	got := make(chan error, 1)
	go func() { got <- tr.waitSpace(context.Background()) }()
	tr.finish(0)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
