package consumer

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

// TestPartitionsAssignedLineHasOneArrayField: the assignment goes in one field, "assigned", a list
// of "topic/partition@start" — never one field per partition, which floods a log index's mapping.
func TestPartitionsAssignedLineHasOneArrayField(t *testing.T) {
	c := newCluster(t, 3)
	brokers := c.ListenAddrs()
	logs := &syncBuffer{}
	in := startConsumer(t, brokers, "a", 4, 5*time.Second, fakeMapper{}, newRecorder(time.Millisecond).uploader("a"), newCountingObserver(), logs)
	kafkatest.WaitFor(t, "partitions assigned", func() bool {
		return strings.Contains(logs.String(), `"message":"partitions assigned"`)
	})
	in.stop(t)

	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, `"message":"partitions assigned"`) {
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(line), &fields); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.Contains(k, "/") {
				t.Errorf("field %q names a partition: %s", k, line)
			}
		}
		got, _ := fields["assigned"].([]any)
		var parts []string
		for _, p := range got {
			s, _ := p.(string)
			parts = append(parts, s)
		}
		sort.Strings(parts)
		want := []string{srcTopic + "/0@first", srcTopic + "/1@first", srcTopic + "/2@first"}
		if strings.Join(parts, " ") != strings.Join(want, " ") {
			t.Errorf("assigned = %v, want %v: %s", fields["assigned"], want, line)
		}
		return
	}
	t.Fatal("no partitions assigned line")
}
