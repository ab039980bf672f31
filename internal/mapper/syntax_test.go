package mapper

import "testing"

// TestSyntaxViolations pins the pointer and wording of syntax faults, which
// dead letters and `worker validate` show; none echoes the input's text.
func TestSyntaxViolations(t *testing.T) {
	tests := []struct {
		give string
		want Violation
	}{
		{``, v("", "invalid JSON at byte 0: unexpected end of input")},
		{`   `, v("", "invalid JSON at byte 3: unexpected end of input")},
		{`{"a":"x`, v("/a", "invalid JSON at byte 7: unexpected end of input")},
		{`{"a":1}x`, v("", "invalid JSON at byte 7: unexpected data after the JSON value")},
		{"{\"a\":\"\xff\"}", v("/a", "invalid JSON at byte 6: invalid UTF-8")},
		{"{\"a\":\"a\tb\"}", v("/a", "invalid JSON at byte 7: control character in string")},
		{`{"a":"\q"}`, v("/a", "invalid JSON at byte 6: invalid escape")},
		{`{"a":"\u12"}`, v("/a", `invalid JSON at byte 6: invalid \u escape`)},
		{`{"a":"\ud800"}`, v("/a", `invalid JSON at byte 6: lone UTF-16 surrogate in \u escape`)},
		{`{"x":{"a":1,"a":2}}`, v("/x/a", "duplicate key in object")},
		{`{"a~b/c":1,"a~b/c":2}`, v("/a~0b~1c", "duplicate key in object")},
		{"\ufeff{}", v("", "invalid JSON at byte 0: unexpected character 'ï'")},
	}
	m := testMapper(t, "")
	for _, tt := range tests {
		_, err := m.Map([]byte(tt.give), nil)
		inv, ok := err.(*InvalidEventError)
		if !ok || len(inv.Violations) != 1 || inv.Violations[0] != tt.want {
			t.Errorf("Map(%q) = %v, want %+v", tt.give, err, tt.want)
		}
	}
}
