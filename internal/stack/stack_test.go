package stack

import (
	"net/http"
	"testing"

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
