package mapping

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/mapper"
)

// FuzzApply compiles arbitrary programs and runs them on arbitrary values
// that carry a login token (in the value's seeds, the key and a header).
// It checks that nothing panics, that a program either compiles or gives a
// *CompileError, that every outcome is one of the three documented ones,
// and that no error repeats the token or any other 8 bytes of a string of
// the message. Seeds: the worked programs and samples of docs/mappings.
func FuzzApply(f *testing.F) {
	value := `{"customer": {"login_token": "` + testToken + `"}, "order": {"total": "12.34", "items": [{"n": 1}]}}`
	for _, src := range []string{`.`, `.customer.login_token | error`, `{a: (.order.total | fen)}`,
		`.order.items[] | {n}`, `def f: f; f`, `[range(1e9)]`, `$headers | to_entries | .[0].value | error`,
		`{(.customer.login_token): 1} | .[0]`, `.order.total | tonumber * 100 | {x: .}`,
		`{a: ("x" * 1e9)}`, `.a[1e8] = 1`, `reduce range(40) as $i ([1]; [., .]) | tostring`} {
		f.Add(src, value)
	}
	programs, _ := filepath.Glob(filepath.Join("..", "..", "docs", "mappings", "*", "program.jq"))
	for _, file := range programs {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		samples, err := os.ReadFile(filepath.Join(filepath.Dir(file), "events.jsonl"))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(samples), "\n") {
			f.Add(string(src), line)
		}
	}
	f.Fuzz(func(t *testing.T, src, value string) {
		p, err := Compile(src, Limits{MaxSteps: 20_000, MaxOutputBytes: 64 << 10})
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) || ce.Line < 1 || ce.Column < 1 {
				t.Fatalf("compile error %v is not a *CompileError with a position", err)
			}
			return
		}
		in := Input{
			Value:   []byte(value),
			Key:     []byte(testToken),
			Headers: []mapper.Header{{Key: "x-login-token", Value: []byte(testToken)}},
			Topic:   "orders",
		}
		out, err := p.Apply(context.Background(), in)
		var me *Error
		switch {
		case err == nil:
			if len(out) == 0 || out[0] != '{' {
				t.Fatalf("output %q is not an object", out)
			}
		case errors.Is(err, ErrNothing):
		case errors.As(err, &me):
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error spans lines: %q", msg)
			}
			if leaked(msg, testToken) {
				t.Fatalf("error %q repeats the login token", msg)
			}
			if v, decErr := decode(in.Value); decErr == nil {
				walkStrings(v, func(s string) {
					if len(s) >= scrubWindow && strings.Contains(msg, s) {
						t.Fatalf("error %q repeats the string %q of the value", msg, s)
					}
				})
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
