package mapper

import (
	"strings"
	"testing"
	"time"
)

func TestDecimalInt64(t *testing.T) {
	tests := []struct {
		give       string
		want       int64
		wantReason string
	}{
		{give: "0", want: 0},
		{give: "-0", want: 0},
		{give: "1000", want: 1000},
		{give: "1000.000", want: 1000},
		{give: "1e3", want: 1000},
		{give: "1.5e1", want: 15},
		{give: "150e-1", want: 15},
		{give: "-42", want: -42},
		{give: "9223372036854775807", want: 9223372036854775807},
		{give: "-9223372036854775808", want: -9223372036854775808},
		{give: "9223372036854775808", wantReason: "range"},
		{give: "92233720368547758070e-1", want: 9223372036854775807},
		{give: "1e19", wantReason: "range"},
		{give: "1.5", wantReason: "fraction"},
		{give: "1e-1", wantReason: "fraction"},
		{give: "0.000000000000000000000000001", wantReason: "fraction"},
		{give: "1e99999999999999999999", wantReason: "range"},
		{give: "0e99999999999999999999", want: 0},
	}
	for _, tt := range tests {
		d := parseDecimal([]byte(tt.give))
		got, reason := d.int64()
		if got != tt.want || (reason == "") != (tt.wantReason == "") || !strings.Contains(reason, tt.wantReason) {
			t.Errorf("%s: got %d %q, want %d %q", tt.give, got, reason, tt.want, tt.wantReason)
		}
	}
}

func TestDecimalCount(t *testing.T) {
	tests := []struct {
		give       string
		want       string
		wantReason string
	}{
		{give: "1", want: "1"},
		{give: "1.5", want: "1.5"},
		{give: "1.50", want: "1.5"},
		{give: "2.00", want: "2"},
		{give: "0.05", want: "0.05"},
		{give: "0.10", want: "0.1"},
		{give: "12.5e-1", want: "1.25"},
		{give: "1e2", want: "100"},
		{give: "1E+2", want: "100"},
		{give: "100e-2", want: "1"},
		{give: "999999999999999", want: "999999999999999"},
		{give: "9999999999999.99", want: "9999999999999.99"},
		{give: "1000000000000000", wantReason: "15 digits"},
		{give: "0.001", wantReason: "2 decimal"},
		{give: "1.255", wantReason: "2 decimal"},
		{give: "1.4999999", wantReason: "2 decimal"},
		{give: "0", wantReason: "greater than 0"},
		{give: "0.00", wantReason: "greater than 0"},
		{give: "-1", wantReason: "greater than 0"},
		{give: "1e-400", wantReason: "2 decimal"},
		{give: "1e400", wantReason: "15 digits"},
	}
	for _, tt := range tests {
		d := parseDecimal([]byte(tt.give))
		got, reason := d.count(nil)
		if string(got) != tt.want || (reason == "") != (tt.wantReason == "") || !strings.Contains(reason, tt.wantReason) {
			t.Errorf("%s: got %q %q, want %q %q", tt.give, got, reason, tt.want, tt.wantReason)
		}
	}
}

func TestRFC3339(t *testing.T) {
	tests := []struct {
		give   string
		want   string // in +08:00 as sent; "" = rejected
		wantOK bool
	}{
		{give: "2026-11-26T12:30:05+08:00", want: "2026-11-26T12:30:05+08:00", wantOK: true},
		{give: "2026-11-26T04:30:05Z", want: "2026-11-26T12:30:05+08:00", wantOK: true},
		{give: "2026-11-26t04:30:05z", want: "2026-11-26T12:30:05+08:00", wantOK: true},
		{give: "2026-11-26T04:30:05.999999999Z", want: "2026-11-26T12:30:05+08:00", wantOK: true},
		{give: "2026-11-25T23:30:05-05:00", want: "2026-11-26T12:30:05+08:00", wantOK: true},
		{give: "2026-12-31T20:00:00-00:00", want: "2027-01-01T04:00:00+08:00", wantOK: true},
		{give: "2024-02-29T00:00:00+08:00", want: "2024-02-29T00:00:00+08:00", wantOK: true},
		{give: "2026-11-26T12:30:05"},
		{give: "2026-11-26T12:30:05+0800"},
		{give: "2026-11-26 12:30:05+08:00"},
		{give: "2026-11-26T12:30:05.+08:00"},
		{give: "2026-11-26T12:30:05,5+08:00"},
		{give: "2026-11-26T24:00:00+08:00"},
		{give: "2026-11-26T23:59:60+08:00"},
		{give: "2025-02-29T00:00:00+08:00"},
		{give: "2026-13-01T00:00:00+08:00"},
		{give: "2026-11-26T12:30:05+24:00"},
		{give: "26-11-26T12:30:05+08:00"},
		{give: "2026-11-26T12:30:05+08:00 "},
	}
	for _, tt := range tests {
		got, ok := parseRFC3339([]byte(tt.give))
		if ok != tt.wantOK {
			t.Errorf("%s: ok = %v", tt.give, ok)
			continue
		}
		if ok {
			if s := string(appendBeijing(nil, got)); s != tt.want {
				t.Errorf("%s: sent as %s, want %s", tt.give, s, tt.want)
			}
			if _, err := time.Parse(time.RFC3339, tt.give); err != nil && tt.give[10] == 'T' {
				t.Errorf("%s: accepted here but not by time.Parse: %v", tt.give, err)
			}
		}
	}
	if sendable(time.Date(9999, 12, 31, 20, 0, 0, 0, time.UTC)) {
		t.Error("a time in year 10000 at +08:00 is sendable")
	}
}
