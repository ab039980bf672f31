package consumer

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
)

// TestKnownTopicIDsChanged: only a different non-zero id is a change; a
// first sighting, a missing topic (zero id) and the same id are not, and a
// read without record keeps the known id for the next generation.
func TestKnownTopicIDsChanged(t *testing.T) {
	a, b := topicID{1}, topicID{2}
	var k knownTopicIDs
	for _, tt := range []struct {
		give   map[string]topicID
		record bool
		want   []string
	}{
		{map[string]topicID{"orders": a}, true, nil},  // first sighting
		{map[string]topicID{"orders": a}, true, nil},  // unchanged
		{map[string]topicID{"orders": {}}, true, nil}, // deleted: no id
		{map[string]topicID{"orders": b}, false, []string{"orders"}},
		{map[string]topicID{"orders": b}, true, []string{"orders"}}, // the watcher did not record it
		{map[string]topicID{"orders": b}, true, nil},
		{map[string]topicID{"orders": b, "refunds": a}, true, nil},
	} {
		if got := k.changed(tt.give, tt.record); !slices.Equal(got, tt.want) {
			t.Errorf("changed(%v, %v) = %v, want %v", tt.give, tt.record, got, tt.want)
		}
	}
}

// TestFreshTopicIDsReadAfterAsking: a get returns a read that started after
// it was called — an asker arriving while a read runs waits for the next
// one, shared by every asker meanwhile — and reads never overlap; an asker
// that gives up leaves the next read to the others.
func TestFreshTopicIDsReadAfterAsking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f freshTopicIDs
		release := make(chan struct{})
		var reads, running, overlap int
		read := func(ctx context.Context) (map[string]topicID, error) {
			reads++
			n := reads
			running++
			if running > 1 {
				overlap++
			}
			<-release
			running--
			return map[string]topicID{"orders": {byte(n)}}, nil
		}
		type got struct {
			who string
			id  byte
			err error
		}
		results := make(chan got, 4)
		ask := func(ctx context.Context, who string) {
			ids, err := f.get(ctx, read)
			results <- got{who, ids["orders"][0], err}
		}
		go ask(context.Background(), "first")
		synctest.Wait() // the first read runs
		quitter, quit := context.WithCancel(context.Background())
		go ask(quitter, "quitter")
		go ask(context.Background(), "second")
		go ask(context.Background(), "third")
		synctest.Wait()
		quit()
		if r := <-results; r.who != "quitter" || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("after cancelling: %+v, want the quitter with context.Canceled", r)
		}
		release <- struct{}{} // the first read ends
		if r := <-results; r.who != "first" || r.id != 1 {
			t.Fatalf("%+v, want first with read 1", r)
		}
		synctest.Wait()
		release <- struct{}{} // the shared second read ends
		for range 2 {
			if r := <-results; r.id != 2 || r.err != nil {
				t.Errorf("%+v, want read 2 (started after asking)", r)
			}
		}
		if reads != 2 || overlap != 0 {
			t.Errorf("%d reads, %d overlapping, want 2 and 0", reads, overlap)
		}
	})
}
