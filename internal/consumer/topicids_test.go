package consumer

import (
	"slices"
	"testing"
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
