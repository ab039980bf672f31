package mapper

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestHostileCorpus replays testdata/hostile: every file is an invalid event
// that must be reported, with a one-line error, and never panic.
func TestHostileCorpus(t *testing.T) {
	want := map[string]Violation{
		"bom.json":                       v("", "unexpected character"),
		"deep_nesting.json":              v("/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0", "nested deeper than 64 levels"),
		"deep_unknown_field.json":        v("/x/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", "nested deeper"),
		"duplicate_among_many_keys.json": v("/k1999", "duplicate key"),
		"duplicate_keys.json":            v("/order/order_no", "duplicate key"),
		"empty.json":                     v("", "unexpected end of input"),
		"huge_exponent.json":             v("/order/people_count", "64-bit integer range"),
		"invalid_utf8.json":              v("/order/dishes/0/name", "invalid UTF-8"),
		"long_number.json":               v("/order/total_amount", "64-bit integer range"),
		"nul_in_string.json":             v("/merchant/shop_no", "control character"),
		"out_of_range_numbers.json":      v("/order/total_amount", "64-bit integer range"),
		"overlong_utf8.json":             v("/merchant/sub_mchid", "invalid UTF-8"),
		"surrogate_in_utf8.json":         v("/merchant/shop_no", "invalid UTF-8"),
		"top_level_string.json":          v("", "must be a JSON object"),
		"truncated.json":                 v("/order/dishes/0/unit", "unexpected end of input"),
		"wrong_specversion.json":         v("/specversion", `must be "1.0"`),
	}
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", "*"))
	if err != nil || len(files) != len(want) {
		t.Fatalf("hostile corpus has %d files, table %d: %v", len(files), len(want), err)
	}
	m := testMapper(t, "")
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			value, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Map(value, nil)
			inv, ok := err.(*InvalidEventError)
			if !ok || res.Skipped || res.Body != nil {
				t.Fatalf("got %+v, %v; want an invalid event", res, err)
			}
			w, g := want[name], inv.Violations[0]
			if g.Field != w.Field || !strings.Contains(g.Reason, w.Reason) {
				t.Errorf("first violation %q %q, want %q containing %q", g.Field, g.Reason, w.Field, w.Reason)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || len(msg) > 4096 {
				t.Errorf("Error() not one short line: %q", msg)
			}
		})
	}
}

func TestHugeValue(t *testing.T) {
	m := testMapper(t, "")
	huge := bytes.Repeat([]byte(" "), DefaultMaxValueBytes)
	huge = append(append([]byte(`{"event_id":"e"}`), huge...), '\n')
	_, err := m.Map(huge, []Header{{"ce_specversion", []byte("1.0")}, {"ce_id", []byte("evt-huge")}})
	wantViolations(t, err, []Violation{v("", "more than the 1048576 allowed")})
	if err.(*InvalidEventError).EventID != "evt-huge" {
		t.Errorf("event id not taken from ce_id: %v", err)
	}

	small, err := New(Config{Mode: ModeChannel, ChannelID: "1", MaxValueBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, err = small.Map([]byte(`{"event_id":"e1"}`), nil)
	wantViolations(t, err, []Violation{v("", "more than the 10 allowed")})
}

// TestLargeValueMemory maps a value just under the limit made of tiny
// elements (the worst case for the tape) and bounds what one call allocates.
func TestLargeValueMemory(t *testing.T) {
	m := testMapper(t, "")
	elems := bytes.Repeat([]byte("0,"), DefaultMaxValueBytes/2-16)
	value := append(append([]byte(`{"x":[`), elems...), `0]}`...)
	if len(value) > DefaultMaxValueBytes {
		t.Fatalf("value is %d bytes", len(value))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := m.Map(value, nil)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("want violations")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 24*uint64(len(value)) {
		t.Errorf("Map allocated %d bytes for a %d-byte value", alloc, len(value))
	}
}
