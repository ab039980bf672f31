package mapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// goldenInputs lists testdata/*.input.json. The file name says the mode
// (sp_ or channel_); a sibling *.headers.json holds Kafka headers as an
// object of strings (CloudEvents binary mode).
func goldenInputs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.input.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	return files
}

func goldenCase(t testing.TB, input string) (Mode, []byte, []Header) {
	t.Helper()
	value, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	mode := ModeServiceProvider
	if strings.HasPrefix(filepath.Base(input), "channel_") {
		mode = ModeChannel
	}
	var headers []Header
	if raw, err := os.ReadFile(strings.TrimSuffix(input, ".input.json") + ".headers.json"); err == nil {
		var kv map[string]string
		if err := json.Unmarshal(raw, &kv); err != nil {
			t.Fatalf("headers of %s: %v", input, err)
		}
		for k, v := range kv {
			headers = append(headers, Header{Key: k, Value: []byte(v)})
		}
	}
	return mode, value, headers
}

// outcomeLine renders a Map outcome as `worker validate` does: the exact body
// in {"payload":...}, {"skipped":...} or {"violations":[...]}.
func outcomeLine(t testing.TB, res Result, err error) []byte {
	t.Helper()
	var inv *InvalidEventError
	switch {
	case errors.As(err, &inv):
		b, err := json.Marshal(map[string]any{"violations": inv.Violations})
		if err != nil {
			t.Fatal(err)
		}
		return b
	case err != nil:
		t.Fatalf("Map: %v", err)
	case res.Skipped:
		b, _ := json.Marshal(map[string]string{"skipped": res.SkipReason})
		return b
	}
	return []byte(`{"payload":` + string(res.Body) + `}`)
}

func TestGolden(t *testing.T) {
	for _, input := range goldenInputs(t) {
		name := strings.TrimSuffix(filepath.Base(input), ".input.json")
		t.Run(name, func(t *testing.T) {
			mode, value, headers := goldenCase(t, input)
			res, err := testMapper(t, mode).Map(value, headers)
			got := outcomeLine(t, res, err)
			if err == nil && !res.Skipped {
				if vs := checkBody(mode, res.Body); len(vs) > 0 {
					t.Errorf("body breaks %v", vs)
				}
			}
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, got, "", "  "); err != nil {
					t.Fatal(err)
				}
				pretty.WriteByte('\n')
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			// Compact keeps string escapes and number text as written, so
			// this compares the body byte for byte.
			var compact bytes.Buffer
			if err := json.Compact(&compact, want); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(compact.Bytes(), got) {
				t.Errorf("got\n%s\nwant\n%s", got, compact.Bytes())
			}
		})
	}
}
