package chaos

import (
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// TestCheck proves the invariant check can fail: each broken run is caught.
func TestCheck(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	e := expectation{
		events: 4,
		valid: map[string]bodyRef{
			"a0": {order: "A", eventID: "a-0", seq: 0},
			"a1": {order: "A", eventID: "a-1", seq: 1},
		},
		byEvent:  map[string]bodyRef{"a-0": {order: "A", eventID: "a-0", seq: 0}, "a-1": {order: "A", eventID: "a-1", seq: 1}},
		lastBody: map[string]string{"A": "a1"},
		dead:     map[string]string{"b-0": dlq.ClassInvalidEvent},
	}
	up := func(body string, sec int) sandbox.Record {
		return sandbox.Record{OrderNo: "A", Body: []byte(body), At: t0.Add(time.Duration(sec) * time.Second)}
	}
	dl := func(id, class string) kafka.Message {
		return kafka.Message{Value: []byte(`{"event_id":"` + id + `"}`),
			Headers: []kafka.Header{{Key: dlq.HeaderErrorClass, Value: []byte(class)}}}
	}
	ok := []kafka.Message{dl("b-0", dlq.ClassInvalidEvent)}
	tests := []struct {
		name      string
		give      observation
		wantProbs []string // substrings, one per expected problem; none = clean
		wantDups  int
	}{
		{name: "clean", give: observation{uploads: []sandbox.Record{up("a0", 1), up("a1", 2)}, dead: ok}},
		{name: "lost event", give: observation{uploads: []sandbox.Record{up("a1", 2)}, dead: ok},
			wantProbs: []string{"lost event"}},
		{name: "regression within a lifetime", give: observation{uploads: []sandbox.Record{up("a0", 1), up("a1", 2), up("a0", 3), up("a1", 4)}, dead: ok},
			wantProbs: []string{"regressed within one process lifetime"}, wantDups: 2},
		{name: "regression across a restart is counted, not a problem",
			give:     observation{uploads: []sandbox.Record{up("a0", 1), up("a1", 2), up("a0", 4), up("a1", 5)}, dead: ok, lifecycle: []time.Time{t0.Add(3 * time.Second)}},
			wantDups: 2},
		{name: "stale final state", give: observation{uploads: []sandbox.Record{up("a0", 1), up("a1", 2), up("a0", 4)}, dead: ok, lifecycle: []time.Time{t0.Add(3 * time.Second)}},
			wantProbs: []string{"stale final state"}, wantDups: 1},
		{name: "unknown upload", give: observation{uploads: []sandbox.Record{up("a0", 1), up("a1", 2), up("zz", 3)}, dead: ok},
			wantProbs: []string{"unexpected upload"}, wantDups: 1},
		{name: "missing dead letter", give: observation{uploads: []sandbox.Record{up("a0", 1), up("a1", 2)}},
			wantProbs: []string{"missing dead letter"}},
		{name: "wrong class", give: observation{uploads: []sandbox.Record{up("a0", 1), up("a1", 2)}, dead: []kafka.Message{dl("b-0", dlq.ClassRejected)}},
			wantProbs: []string{"wrong dead-letter class"}},
		{name: "unexpected dead letter", give: observation{uploads: []sandbox.Record{up("a0", 1), up("a1", 2)}, dead: []kafka.Message{dl("b-0", dlq.ClassInvalidEvent), dl("a-1", dlq.ClassRejected)}},
			wantProbs: []string{"unexpected dead letter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, probs := check(e, tt.give)
			if len(probs) != len(tt.wantProbs) {
				t.Fatalf("problems %q, want %d matching %q", probs, len(tt.wantProbs), tt.wantProbs)
			}
			for i, want := range tt.wantProbs {
				if !strings.Contains(probs[i], want) {
					t.Errorf("problem %q, want one about %q", probs[i], want)
				}
			}
			if f.DupUploads != tt.wantDups {
				t.Errorf("duplicate uploads %d, want %d", f.DupUploads, tt.wantDups)
			}
		})
	}
}

// TestScanLogs proves the secret scan finds key material and login tokens
// without printing them.
func TestScanLogs(t *testing.T) {
	s := secrets{keyLines: []string{"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}, tokens: []string{"071oYFSN19sCH31AyNSN15QDSN1oYFSA"}}
	logs := []byte(`{"message":"ok"}
{"body":"x071oYFSN19sCH31AyNSN15QDSN1oYFSAx"}
{"err":"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}
panic: boom`)
	got := scanLogs("w.log", logs, s)
	want := []string{"w.log line 2 carries a login_token value", "w.log line 3 carries private key material", "w.log line 4: panic: boom"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("scan = %q, want %q", got, want)
	}
}
