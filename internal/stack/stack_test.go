package stack

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/kafkatest"
)

func TestSandboxConnsFollowsClientConnections(t *testing.T) {
	st, err := Start(Options{Dir: t.TempDir(), Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	tr := &http.Transport{}
	c := &http.Client{Transport: tr}
	req, err := http.NewRequest(http.MethodGet, st.URL+"/sandbox/stats", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+st.AdminToken)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("stats with the stack's admin token: %d", resp.StatusCode)
	}
	if n := st.SandboxConns(); n != 1 {
		t.Errorf("%d connections open with one idle keep-alive client, want 1", n)
	}
	tr.CloseIdleConnections()
	kafkatest.WaitFor(t, "no connection open after the client closed its only one", func() bool { return st.SandboxConns() == 0 })
}

// TestReadTopicDropsTransactionMarkers writes two committed transactions of
// three records each to a one-partition topic: the topic ends at offset 8
// (two markers), and ReadTopic returns the six records, not the markers.
func TestReadTopicDropsTransactionMarkers(t *testing.T) {
	st, err := Start(Options{Dir: t.TempDir(), Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	kafkatest.CommitTransactions(t, st.Broker, st.Topic, []string{"0-0", "0-1", "0-2"}, []string{"1-0", "1-1", "1-2"})
	if ends := kafkatest.EndOffsets(t, st.Broker, st.Topic); ends[0] != 8 {
		t.Fatalf("end offset %d, want 8 (6 records and 2 markers)", ends[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := st.ReadTopic(ctx, st.Topic)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, m := range got {
		values = append(values, string(m.Value))
	}
	if want := []string{"0-0", "0-1", "0-2", "1-0", "1-1", "1-2"}; !slices.Equal(values, want) {
		t.Errorf("ReadTopic = %q, want %q", values, want)
	}
}
