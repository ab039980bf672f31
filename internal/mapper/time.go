package mapper

import "time"

// beijing is UTC+8, the offset every time is sent in.
var beijing = time.FixedZone("CST", 8*60*60)

// parseRFC3339 parses an RFC 3339 date-time with a Z or ±hh:mm offset (T and
// Z may be lower case; any number of fraction digits after a '.'). It reports
// false for anything else, including impossible dates and leap seconds.
func parseRFC3339(s []byte) (time.Time, bool) {
	if len(s) < 20 || len(s) > 64 {
		return time.Time{}, false
	}
	var buf [64]byte
	b := buf[:copy(buf[:], s)]
	if b[10] == 't' {
		b[10] = 'T'
	}
	if last := len(b) - 1; b[last] == 'z' {
		b[last] = 'Z'
	}
	// time.Parse also takes a ',' before the fraction and offsets up to
	// ±99:59, which RFC 3339 does not.
	if c := b[19]; c != '.' && c != 'Z' && c != '+' && c != '-' {
		return time.Time{}, false
	}
	if z := b[len(b)-1]; z != 'Z' && (len(b) < 25 || b[len(b)-6] != '+' && b[len(b)-6] != '-' || b[len(b)-5] > '2' ||
		b[len(b)-5] == '2' && b[len(b)-4] > '3') {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}

// sendable reports whether t can be written in +08:00 with a four-digit year.
func sendable(t time.Time) bool {
	y := t.In(beijing).Year()
	return y >= 1 && y <= 9999
}

// appendBeijing appends t as 2006-01-02T15:04:05+08:00 (whole seconds,
// fraction dropped).
func appendBeijing(dst []byte, t time.Time) []byte {
	return t.In(beijing).AppendFormat(dst, "2006-01-02T15:04:05Z07:00")
}
