package mapping

import (
	"encoding/json"
	"strings"
)

// scrubWindow is the shortest run of bytes scrub removes: shorter runs of
// a secret are no use to a reader, and ordinary words in gojq's messages
// are left alone unless the message repeats them.
const scrubWindow = 8

// scrub makes msg safe for a log line or a dead-letter header: it is cut
// to one short line, and every run of scrubWindow or more bytes that also
// occurs in a string of the message — the decoded value v (strings and
// object keys), the key, a header value — is replaced by "…". gojq's
// messages quote the values they fail on, and error(.customer.login_token)
// would quote a secret; neither survives.
func scrub(msg string, in Input, v any) string {
	msg = oneLine(msg)
	if len(msg) < scrubWindow {
		return msg
	}
	var hay strings.Builder
	add := func(s string) {
		if len(s) >= scrubWindow {
			hay.WriteString(s)
			hay.WriteByte(0)
		}
	}
	add(string(in.Key))
	for _, h := range in.Headers {
		add(string(h.Value))
	}
	if v == nil {
		add(string(in.Value)) // undecoded: any of its text may be a secret
	}
	walkStrings(v, add)
	haystack := hay.String()
	if haystack == "" {
		return msg
	}
	cover := make([]bool, len(msg))
	for i := 0; i+scrubWindow <= len(msg); i++ {
		if strings.Contains(haystack, msg[i:i+scrubWindow]) {
			for j := i; j < i+scrubWindow; j++ {
				cover[j] = true
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		if !cover[i] {
			b.WriteByte(msg[i])
			continue
		}
		if i == 0 || !cover[i-1] {
			b.WriteString("…")
		}
	}
	return strings.ToValidUTF8(b.String(), "")
}

// walkStrings calls fn with every string and object key in v.
func walkStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case json.Number:
	case map[string]any:
		for k, e := range x {
			fn(k)
			walkStrings(e, fn)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	}
}
