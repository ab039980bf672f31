package sample

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/mapper"
)

// TestExpectationsMatchTheMapper keeps the samples honest: every event maps,
// skips or fails exactly as its Expect says, with the status it claims.
func TestExpectationsMatchTheMapper(t *testing.T) {
	m, err := mapper.New(mapper.Config{
		Mode: mapper.ModeServiceProvider, MchID: "1230000109", SpAppID: "wx1234567890abcdef",
		SkipTypes: mapper.DefaultSkipTypes,
	})
	if err != nil {
		t.Fatal(err)
	}
	events := Generate(Options{
		Seed: 7, Orders: 400, InvalidPercent: 20, RejectedPercent: 10, RejectedSubMchID: "1900000999",
		Start: time.Date(2026, 11, 26, 12, 0, 0, 0, time.FixedZone("CST", 8*3600)), Interleave: true,
	})
	seen := map[Expect]int{}
	for _, e := range events {
		seen[e.Expect]++
		hs := make([]mapper.Header, len(e.Headers))
		for i, h := range e.Headers {
			hs[i] = mapper.Header{Key: h.Key, Value: h.Value}
		}
		res, err := m.Map(e.Value, hs)
		var invalid *mapper.InvalidEventError
		switch e.Expect {
		case ExpectInvalid:
			if !errors.As(err, &invalid) {
				t.Errorf("%s: want invalid, got err %v skipped %v", e.EventID, err, res.Skipped)
			}
		case ExpectSkipped:
			if err != nil || !res.Skipped {
				t.Errorf("%s: want skipped, got err %v skipped %v", e.EventID, err, res.Skipped)
			}
		default:
			if err != nil || res.Skipped {
				t.Fatalf("%s: want mapped, got err %v skipped %v", e.EventID, err, res.Skipped)
			}
			if res.Status != e.Status || res.OrderNo != e.OrderNo || res.EventID != e.EventID {
				t.Errorf("%s: got %s %s %s, want %s %s", e.EventID, res.Status, res.OrderNo, res.EventID, e.Status, e.OrderNo)
			}
		}
	}
	for _, x := range []Expect{ExpectDelivered, ExpectSkipped, ExpectInvalid, ExpectRejected} {
		if seen[x] == 0 {
			t.Errorf("no %s events generated", x)
		}
	}
}

func TestGenerateIsDeterministicAndKeepsOrderSequence(t *testing.T) {
	opts := Options{Seed: 1, Orders: 50, InvalidPercent: 10, Interleave: true, Start: time.Unix(1_790_000_000, 0)}
	a, b := Generate(opts), Generate(opts)
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d", len(a), len(b))
	}
	last := map[string]string{}
	for i := range a {
		if !bytes.Equal(a[i].Value, b[i].Value) {
			t.Fatalf("event %d differs between runs", i)
		}
		if prev, ok := last[a[i].OrderNo]; ok && prev >= a[i].EventID {
			t.Errorf("order %s: event %s after %s", a[i].OrderNo, a[i].EventID, prev)
		}
		last[a[i].OrderNo] = a[i].EventID
	}
}
