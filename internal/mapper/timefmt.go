package mapper

import "time"

// beijing is UTC+8, the offset every time is sent in.
const beijing = 8 * 60 * 60

// parseRFC3339 parses an RFC 3339 date-time with a Z or ±hh:mm offset
// (T and Z may be lower case; any number of fraction digits). It reports
// false for anything else, including impossible dates and leap seconds.
func parseRFC3339(s []byte) (time.Time, bool) {
	// 2006-01-02T15:04:05[.frac](Z|±07:00)
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digitsN(s[0:4])
	month, ok2 := digitsN(s[5:7])
	day, ok3 := digitsN(s[8:10])
	hour, ok4 := digitsN(s[11:13])
	minute, ok5 := digitsN(s[14:16])
	sec, ok6 := digitsN(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || month < 1 || month > 12 || day < 1 ||
		day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if rest[0] == '.' {
		i := 1
		scale := 100_000_000
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			nsec += int(rest[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == 1 {
			return time.Time{}, false
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digitsN(rest[1:3])
		om, ok2 := digitsN(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func digitsN(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// sendable reports whether t can be written in +08:00 with a four-digit year.
func sendable(t time.Time) bool {
	y := t.UTC().Add(beijing * time.Second).Year()
	return y >= 1 && y <= 9999
}

// appendBeijing appends t as 2006-01-02T15:04:05+08:00 (whole seconds,
// fraction dropped).
func appendBeijing(dst []byte, t time.Time) []byte {
	b := t.UTC().Add(beijing * time.Second)
	y, mo, d := b.Date()
	h, mi, s := b.Clock()
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	dst = append2(dst, int(mo), '-')
	dst = append2(dst, d, 'T')
	dst = append2(dst, h, ':')
	dst = append2(dst, mi, ':')
	dst = append2(dst, s, '+')
	return append(dst, "08:00"...)
}

func append2(dst []byte, n int, sep byte) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10), sep)
}
