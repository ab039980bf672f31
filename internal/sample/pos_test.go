package sample

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/mapping"
)

// TestPOSThroughTheWorkedProgram: every sample event, converted to the POS
// shape and run through docs/mappings/pos-export/program.jq, ends as its
// Expect says, with the status and amounts of the original.
func TestPOSThroughTheWorkedProgram(t *testing.T) {
	prog, err := mapping.Load(filepath.Join("..", "..", "docs", "mappings", "pos-export", "program.jq"), mapping.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapper.New(mapper.Config{Mode: mapper.ModeServiceProvider, MchID: "1230000109", SpAppID: "wx1234567890abcdef",
		SkipTypes: mapper.DefaultSkipTypes})
	if err != nil {
		t.Fatal(err)
	}
	events := Generate(Options{Seed: 11, Orders: 300, InvalidPercent: 30, RejectedPercent: 10, RejectedSubMchID: "1900000999",
		Start: time.Date(2026, 11, 26, 12, 0, 0, 0, beijing), Interleave: true})
	seen := map[Expect]int{}
	for _, e := range events {
		pos, err := ToPOS(e)
		if err != nil {
			t.Fatal(err)
		}
		seen[e.Expect]++
		value, err := prog.Apply(context.Background(), mapping.Input{Value: pos.Value})
		var res mapper.Result
		if err == nil {
			res, err = m.Map(value, nil)
		}
		switch e.Expect {
		case ExpectInvalid:
			var me *mapping.Error
			var ie *mapper.InvalidEventError
			if !errors.As(err, &me) && !errors.As(err, &ie) {
				t.Errorf("%s: want invalid, got %v (skipped %v)\n%s", e.EventID, err, res.Skipped, pos.Value)
			}
		case ExpectSkipped:
			if err != nil || !res.Skipped {
				t.Errorf("%s: want skipped, got %v", e.EventID, err)
			}
		default:
			if err != nil || res.Skipped || res.Status != e.Status {
				t.Errorf("%s: want %s, got %v (status %q)\n%s", e.EventID, e.Status, err, res.Status, pos.Value)
				continue
			}
			orig, err := m.Map(e.Value, toMapperHeaders(e.Headers))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := amounts(t, res.Body), amounts(t, orig.Body); got != want {
				t.Errorf("%s: amounts %s through the POS shape, %s directly", e.EventID, got, want)
			}
		}
	}
	if seen[ExpectInvalid] == 0 || seen[ExpectSkipped] == 0 || seen[ExpectDelivered] == 0 || seen[ExpectRejected] == 0 {
		t.Fatalf("the stream lacks an outcome: %v", seen)
	}
}

func toMapperHeaders(hs []Header) []mapper.Header {
	out := make([]mapper.Header, len(hs))
	for i, h := range hs {
		out[i] = mapper.Header{Key: h.Key, Value: h.Value}
	}
	return out
}

// amounts are the body's three order amounts and every dish's price and count.
func amounts(t *testing.T, body []byte) string {
	t.Helper()
	var b struct {
		Total    json.Number `json:"total_amount"`
		Discount json.Number `json:"discount_amount"`
		User     json.Number `json:"user_amount"`
		Dishes   []struct {
			Price json.Number `json:"price"`
			Count json.Number `json:"count"`
		} `json:"dish_list"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(b.Total, b.Discount, b.User, b.Dishes)
}
