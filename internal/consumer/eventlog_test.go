package consumer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/mapper"
)

// A log line below the logger's level costs no allocation: the handle path
// asks for debug lines ("uploading", "delivered") on every event, and the
// worker logs at info.
func TestEventLogBelowLevelAllocatesNothing(t *testing.T) {
	c := &Consumer{}
	p := &partition{log: zerolog.New(&bytes.Buffer{}).Level(zerolog.InfoLevel)}
	ev := &event{result: mapper.Result{EventID: "ev-1", OrderNo: "o-1", SubMchID: "1900000109"}}
	if n := testing.AllocsPerRun(100, func() {
		c.eventLog(p, ev, zerolog.DebugLevel).Int("attempts", 1).Msg("delivered")
	}); n != 0 {
		t.Fatalf("a debug line at info level allocated %v times per event, want 0", n)
	}
}

// An enabled line still names the event, also an invalid one by the ids its
// mapping error carries.
func TestEventLogNamesTheEvent(t *testing.T) {
	var buf bytes.Buffer
	c := &Consumer{}
	p := &partition{log: zerolog.New(&buf).Level(zerolog.DebugLevel)}
	ok := &event{result: mapper.Result{EventID: "ev-1", OrderNo: "o-1", SubMchID: "1900000109"}}
	c.eventLog(p, ok, zerolog.DebugLevel).Msg("delivered")
	bad := &event{mapErr: &mapper.InvalidEventError{EventID: "ev-2", OrderNo: "o-2"}}
	c.eventLog(p, bad, zerolog.WarnLevel).Msg("event dead-lettered")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %q", len(lines), buf.String())
	}
	for i, want := range [][]string{
		{`"event_id":"ev-1"`, `"order_no":"o-1"`, `"sub_mchid":"1900000109"`},
		{`"event_id":"ev-2"`, `"order_no":"o-2"`},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %s: missing %s", i, lines[i], w)
			}
		}
	}
}
