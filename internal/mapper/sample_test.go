package mapper

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/sample"
)

// TestSampleStream maps the generated order lifecycles the demo and the
// reliability suite use, in all three shapes, and checks each event gets the
// outcome the generator expects.
func TestSampleStream(t *testing.T) {
	events := sample.Generate(sample.Options{Seed: 7, Orders: 300, InvalidPercent: 30, RejectedPercent: 5,
		RejectedSubMchID: "1900000666", Start: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), Interleave: true})
	m := testMapper(t, ModeServiceProvider)
	seen := map[sample.Expect]int{}
	for _, ev := range events {
		headers := make([]Header, len(ev.Headers))
		for i, h := range ev.Headers {
			headers[i] = Header{Key: h.Key, Value: h.Value}
		}
		res, err := m.Map(ev.Value, headers)
		seen[ev.Expect]++
		switch ev.Expect {
		case sample.ExpectInvalid:
			if err == nil {
				t.Errorf("%s: want invalid, got %+v", ev.EventID, res)
			}
		case sample.ExpectSkipped:
			if err != nil || !res.Skipped {
				t.Errorf("%s: want skipped, got %+v %v", ev.EventID, res, err)
			}
		default:
			if err != nil {
				t.Errorf("%s: %v", ev.EventID, err)
				continue
			}
			if res.Status != ev.Status || res.EventID != ev.EventID || res.OrderNo != ev.OrderNo {
				t.Errorf("%s: got %s %s %s, want %s %s %s", ev.EventID, res.Status, res.EventID, res.OrderNo, ev.Status, ev.EventID, ev.OrderNo)
			}
			if vs := checkBody(ModeServiceProvider, res.Body); len(vs) > 0 {
				t.Errorf("%s: body breaks %v", ev.EventID, vs)
			}
		}
	}
	if seen[sample.ExpectInvalid] == 0 || seen[sample.ExpectSkipped] == 0 || seen[sample.ExpectDelivered] == 0 {
		t.Errorf("stream lacks an outcome: %v", seen)
	}
}
