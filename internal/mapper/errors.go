package mapper

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxViolations bounds how many violations one event lists; the rest are
// counted in a final entry.
const maxViolations = 100

// Violation is one broken rule. Field is a JSON pointer into the message
// value as received (or the header name, e.g. "ce_time", in CloudEvents binary
// mode; "" for the whole value).
type Violation struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// InvalidEventError lists every violation of one event. Error() is one line
// and never contains login_token or any other secret value; EventID and
// OrderNo are filled when they could be read (cut to 128 bytes).
type InvalidEventError struct {
	EventID, OrderNo string
	Violations       []Violation
}

// errorListed is how many violations Error() spells out.
const errorListed = 5

// Error returns one line: the event, the order and the first violations.
func (e *InvalidEventError) Error() string {
	var b strings.Builder
	b.WriteString("invalid event")
	if e.EventID != "" {
		b.WriteString(" ")
		b.WriteString(quote(e.EventID))
	}
	if e.OrderNo != "" {
		b.WriteString(" order ")
		b.WriteString(quote(e.OrderNo))
	}
	b.WriteString(": ")
	for i, v := range e.Violations {
		if i == errorListed {
			b.WriteString("; and ")
			b.WriteString(strconv.Itoa(len(e.Violations) - i))
			b.WriteString(" more")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if v.Field != "" {
			b.WriteString(oneLine(v.Field))
			b.WriteString(": ")
		}
		b.WriteString(oneLine(v.Reason))
	}
	return b.String()
}

// quoteMax bounds how much of an input value is echoed in a message.
const quoteMax = 64

// quote renders an input value for a message: Go-quoted (so one line) and cut
// to quoteMax bytes.
func quote(s string) string {
	if len(s) > quoteMax {
		cut := quoteMax
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// oneLine escapes control characters so text stays on one line.
func oneLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

// cutID truncates an identifier read from an event to 128 bytes on a rune boundary.
func cutID(b []byte) []byte {
	if len(b) > 128 {
		n := 128
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = b[:n]
	}
	return b
}
