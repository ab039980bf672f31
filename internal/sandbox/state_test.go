package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
)

// TestLastStateIsWhatWeChatHolds: the sandbox keeps each order's last
// accepted upload, by Go method and on GET /sandbox/orders/{sub_mchid}/{out_order_no},
// without the body (it holds the login_token); in CountOnly mode too.
func TestLastStateIsWhatWeChatHolds(t *testing.T) {
	for _, countOnly := range []bool{false, true} {
		sb, srv := newSandbox(t, sandbox.Config{CountOnly: countOnly})
		c := sdkClient(t, false)
		created := spOrder()
		created["out_order_no"], created["status"] = "A", "CREATE_DEAL"
		delete(created, "pay_time")
		delete(created, "transaction_id")
		delete(created, "out_trade_no")
		body, _ := json.Marshal(created)
		for _, b := range [][]byte{orderJSON(t, "A"), body} {
			if _, err := c.Post(context.Background(), srv.URL+sandbox.SyncStatusPath, b); err != nil {
				t.Fatal(err)
			}
		}
		last, ok := sb.LastState("1900000100", "A")
		if !ok || last.Status != "CREATE_DEAL" {
			t.Errorf("count only %v: LastState = %+v, %v; want the CREATE_DEAL sent last", countOnly, last, ok)
		}
		if _, ok := sb.LastState("1900000101", "A"); ok {
			t.Errorf("another sub-merchant's order of the same number has a state")
		}
		resp, err := http.Get(srv.URL + "/sandbox/orders/1900000100/A")
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || got["status"] != "CREATE_DEAL" || got["login_token"] != nil {
			t.Errorf("GET: %d %v", resp.StatusCode, got)
		}
		resp, err = http.Get(srv.URL + "/sandbox/orders/1900000100/none")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET of an order never accepted: %d, want 404", resp.StatusCode)
		}
	}
}
