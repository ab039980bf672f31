package mapper

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzMap feeds arbitrary values (in either mode, with or without CloudEvents
// binary headers) and checks that Map never panics, that invalid events carry
// violations and a one-line error, and that every accepted event's body
// passes the sandbox's independent checker (checkBody). Seeds: testdata/fuzz/FuzzMap,
// the golden inputs, the hostile corpus and the rule table.
func FuzzMap(f *testing.F) {
	for _, pattern := range []string{"*.input.json", "hostile/*"} {
		files, _ := filepath.Glob(filepath.Join("testdata", pattern))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil && len(b) < 64<<10 {
				f.Add(b, uint8(0))
				f.Add(b, uint8(3))
			}
		}
	}
	for _, c := range ruleCases {
		f.Add(c.value(f), uint8(0))
	}
	mappers := [2]*Mapper{testMapper(f, ModeServiceProvider), testMapper(f, ModeChannel)}
	f.Fuzz(func(t *testing.T, value []byte, flags uint8) {
		m := mappers[flags&1]
		var headers []Header
		if flags&2 != 0 {
			headers = binaryHeaders()
		}
		res, err := m.Map(value, headers)
		if err != nil {
			var inv *InvalidEventError
			if !errors.As(err, &inv) || len(inv.Violations) == 0 {
				t.Fatalf("error %v is not an InvalidEventError with violations", err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("Error() spans lines: %q", err.Error())
			}
			if res.Body != nil || res.Skipped {
				t.Fatalf("invalid event with result %+v", res)
			}
			return
		}
		if res.Skipped {
			if res.Body != nil || res.SkipReason == "" {
				t.Fatalf("skipped result %+v", res)
			}
			return
		}
		if vs := checkBody(m.Mode(), res.Body); len(vs) > 0 {
			t.Fatalf("accepted %q\nbody %s\nbreaks %v", value, res.Body, vs)
		}
		var body struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(res.Body, &body); err != nil || body.Status != res.Status {
			t.Fatalf("body status %q, result %q, %v", body.Status, res.Status, err)
		}
	})
}
