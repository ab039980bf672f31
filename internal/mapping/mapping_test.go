package mapping

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/mapper"
)

const testToken = "071oYFSN19sCH31AyNSN15QDSN1oYFSA"

func compile(t testing.TB, src string, lim Limits) *Program {
	t.Helper()
	p, err := Compile(src, lim)
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	return p
}

func apply(t testing.TB, p *Program, value string) ([]byte, error) {
	t.Helper()
	return p.Apply(context.Background(), Input{Value: []byte(value)})
}

func TestApplyKeepsNumbersExact(t *testing.T) {
	tests := []struct {
		name, giveProgram, giveValue, want string
	}{
		{"moved numbers keep their text", `{a: .a, b: .b, c: .c}`,
			`{"a": 12.34, "b": 1.50, "c": 1e2}`, `{"a":12.34,"b":1.50,"c":1e2}`},
		{"integers beyond 2^53 survive moving", `{id: .id}`,
			`{"id": 9007199254740993123}`, `{"id":9007199254740993123}`},
		{"integers beyond 2^53 survive arithmetic", `{id: (.id + 1)}`,
			`{"id": 9007199254740993}`, `{"id":9007199254740994}`},
		{"fen of yuan strings", `{a: (.a | fen), b: (.b | fen), c: (.c | fen), d: (.d | fen)}`,
			`{"a": "12.34", "b": "0.29", "c": "1.1", "d": "7"}`, `{"a":1234,"b":29,"c":110,"d":700}`},
		{"fen of yuan numbers", `{a: (.a | fen), b: (.b | fen), c: (.c | fen), d: (.d | fen)}`,
			`{"a": 12.34, "b": 0.29, "c": 1.2340e1, "d": 19.990}`, `{"a":1234,"b":29,"c":1234,"d":1999}`},
		{"fen of a computed float reads its shortest decimal", `{a: ((.a | tonumber) * 2 | fen)}`,
			`{"a": "0.25"}`, `{"a":50}`},
		{"fen keeps large amounts exact", `{a: (.a | fen)}`,
			`{"a": "92233720368547758.07"}`, `{"a":9223372036854775807}`},
		{"fen beyond int64", `{a: (.a | fen)}`,
			`{"a": "92233720368547758.08"}`, `{"a":9223372036854775808}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := apply(t, compile(t, tt.giveProgram, Limits{}), tt.giveValue)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestFloatYuanIsInexact shows why the docs say fen rather than * 100.
func TestFloatYuanIsInexact(t *testing.T) {
	got, err := apply(t, compile(t, `{a: ((.a | tonumber) * 100)}`, Limits{}), `{"a": "0.29"}`)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) == `{"a":29}` {
		t.Fatalf("float arithmetic gave %s: the docs' warning would be wrong", got)
	}
}

func TestFenRejectsWhatIsNotExact(t *testing.T) {
	for _, give := range []string{`"12.345"`, `"1e2"`, `" 12"`, `"12."`, `".5"`, `"abc"`, `true`, `null`, `0.001`, `1e100`, `"1e2"`} {
		_, err := apply(t, compile(t, `{a: (.a | fen)}`, Limits{}), `{"a": `+give+`}`)
		var me *Error
		if !errors.As(err, &me) || !strings.HasPrefix(err.Error(), "mapping: fen: ") {
			t.Errorf("fen of %s: got %v, want a mapping: fen: error", give, err)
		}
	}
}

func TestApplyBindsVariables(t *testing.T) {
	p := compile(t, `{key: $key, h: $headers.source, topic: $topic, p: $partition, o: $offset, ts: $timestamp}`, Limits{})
	got, err := p.Apply(context.Background(), Input{
		Value:     []byte(`{}`),
		Key:       []byte("order-1"),
		Headers:   []mapper.Header{{Key: "source", Value: []byte("pos")}},
		Topic:     "orders",
		Partition: 3,
		Offset:    1 << 40,
		Timestamp: time.Date(2026, 11, 26, 4, 30, 5, 123e6, time.FixedZone("CST", 8*3600)),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"h":"pos","key":"order-1","o":1099511627776,"p":3,"topic":"orders","ts":"2026-11-25T20:30:05.123Z"}`
	if string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	got, err = p.Apply(context.Background(), Input{Value: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"h":null,"key":null,"o":0,"p":0,"topic":"","ts":null}`; string(got) != want {
		t.Fatalf("without key, headers and time: got %s, want %s", got, want)
	}
}

func TestApplyProducedNothing(t *testing.T) {
	for _, src := range []string{`null`, `empty`, `select(.type == "x")`, `halt`} {
		_, err := apply(t, compile(t, src, Limits{}), `{"type": "y"}`)
		if !errors.Is(err, ErrNothing) {
			t.Errorf("%s: got %v, want ErrNothing", src, err)
		}
	}
}

func TestApplyInvalid(t *testing.T) {
	tests := []struct {
		name, giveProgram, giveValue, wantReason string
	}{
		{"not JSON", `.`, `{"a":`, "value is not JSON"},
		{"two values", `.`, `{} {}`, "value is not JSON: data after the first value"},
		{"empty value", `.`, ``, "value is empty"},
		{"invalid UTF-8", `.`, "{\"a\":\"\xff\"}", "value is not valid UTF-8"},
		{"several outputs", `., .`, `{}`, "the program yielded more than one value"},
		{"an array", `[.]`, `{}`, "the program yielded an array, want an object"},
		{"a string", `.a`, `{"a":"x"}`, "the program yielded a string, want an object"},
		{"a number", `1`, `{}`, "the program yielded a number, want an object"},
		{"runtime error", `.a.b`, `{"a": 1}`, "expected an object but got: number (1)"},
		{"not finite", `{a: infinite}`, `{}`, "the output holds a number that is not finite"},
		{"error text is kept", `error("no status")`, `{}`, "no status"},
		{"environment is empty", `if $ENV == {} and env == {} then error("empty") else error("not empty") end`, `{}`, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := apply(t, compile(t, tt.giveProgram, Limits{}), tt.giveValue)
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("got %s, %v; want an *Error", out, err)
			}
			if !strings.HasPrefix(err.Error(), "mapping: ") || !strings.Contains(me.Reason, tt.wantReason) {
				t.Fatalf("got %q, want the reason %q", err.Error(), tt.wantReason)
			}
		})
	}
}

func TestErrorsNeverRepeatTheToken(t *testing.T) {
	value := `{"customer": {"login_token": "` + testToken + `"}, "n": 1}`
	for _, src := range []string{
		`.customer.login_token | error`,
		`error("token \(.customer.login_token) is bad")`,
		`.customer.login_token + 1`,
		`.customer.login_token | fen`,
		`.customer.login_token | tonumber`,
		`{(.customer.login_token): 1} | .[0]`,
		`.customer | keys[0] as $k | .[$k] | test("(")`,
		`$key | error`,
		`$headers.t | error`,
	} {
		_, err := compile(t, src, Limits{}).Apply(context.Background(), Input{
			Value:   []byte(value),
			Key:     []byte(testToken),
			Headers: []mapper.Header{{Key: "t", Value: []byte(testToken)}},
		})
		if err == nil {
			t.Fatalf("%s: no error", src)
		}
		if leaked(err.Error(), testToken) {
			t.Errorf("%s: error %q repeats the token", src, err)
		}
	}
	// Without any secret in the message, the same kind of error reads whole.
	_, err := apply(t, compile(t, `.n + "x"`, Limits{}), value)
	if err == nil || !strings.Contains(err.Error(), `cannot add: number (1) and string ("x")`) {
		t.Fatalf("got %v, want gojq's message unchanged", err)
	}
}

// leaked reports whether msg holds scrubWindow or more consecutive bytes of secret.
func leaked(msg, secret string) bool {
	for i := 0; i+scrubWindow <= len(secret); i++ {
		if strings.Contains(msg, secret[i:i+scrubWindow]) {
			return true
		}
	}
	return false
}

func TestApplyLimits(t *testing.T) {
	lim := Limits{MaxSteps: 100_000, MaxOutputBytes: 1000, MaxValueBytes: 100}
	tests := []struct {
		name, giveProgram, giveValue, wantReason string
	}{
		{"infinite loop", `def f: f; f`, `{}`, "step limit of 100000 operations exceeded"},
		{"range(1e9)", `[range(1e9)] | {n: length}`, `{}`, "step limit of 100000 operations exceeded"},
		{"range(1e9) without output", `last(range(1e9)) | {n: .}`, `{}`, "step limit of 100000 operations exceeded"},
		{"deep recursion", `def f: [f]; f`, `{}`, "step limit of 100000 operations exceeded"},
		{"repeat", `[repeat(.)] | {}`, `{}`, "step limit of 100000 operations exceeded"},
		{"huge output", `{a: [range(1000)]}`, `{}`, "output is larger than 1000 bytes"},
		{"huge string", `{a: ("x" * 2000)}`, `{}`, "output is larger than 1000 bytes"},
		{"deep output", `{a: (reduce range(100) as $i (1; [.]))}`, `{}`, "output is nested deeper than 64 levels"},
		{"large value", `.`, `{"a": "` + strings.Repeat("x", 100) + `"}`, "value is larger than 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := apply(t, compile(t, tt.giveProgram, lim), tt.giveValue)
			var me *Error
			if !errors.As(err, &me) || me.Reason != tt.wantReason {
				t.Fatalf("got %v, want the reason %q", err, tt.wantReason)
			}
		})
	}
}

// TestApplyTimeLimitIsABackstop: with the steps to spare, the wall-clock
// limit still stops a run (here one already past its deadline).
func TestApplyTimeLimitIsABackstop(t *testing.T) {
	_, err := apply(t, compile(t, `def f: f; f`, Limits{MaxSteps: 1 << 40, Timeout: time.Nanosecond}), `{}`)
	var me *Error
	if !errors.As(err, &me) || me.Reason != "time limit of 1ns exceeded" {
		t.Fatalf("got %v, want the time limit", err)
	}
}

// TestWorkedProgramsAreFarFromTheStepLimit: the POS program takes a small
// fraction of the default budget, so the limit never judges a real event.
func TestWorkedProgramsAreFarFromTheStepLimit(t *testing.T) {
	p, err := Load(filepath.Join("..", "..", "docs", "mappings", "pos-export", "program.jq"), Limits{MaxSteps: DefaultMaxSteps / 100})
	if err != nil {
		t.Fatal(err)
	}
	samples, err := os.ReadFile(filepath.Join("..", "..", "docs", "mappings", "pos-export", "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apply(t, p, strings.SplitN(string(samples), "\n", 2)[0]); err != nil {
		t.Fatalf("the POS sample needs more than 1 %% of the default steps: %v", err)
	}
}

func TestApplyCancelledIsNotInvalid(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := compile(t, `def f: f; f`, Limits{}).Apply(ctx, Input{Value: []byte(`{}`)})
	var me *Error
	if errors.As(err, &me) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled and no *Error", err)
	}
}

func TestCompileErrorPosition(t *testing.T) {
	tests := []struct {
		name, give        string
		wantLine, wantCol int
		wantReason        string
	}{
		{"unexpected token", "{\n  a: .a,\n  b: .b }}", 3, 10, `unexpected token "}"`},
		{"unexpected end", "{\n  a: (.a", 2, 9, "unexpected EOF"},
		{"unterminated string (at the end)", "{a: \"x}", 1, 8, "unterminated string literal"},
		{"no further input", "{a: 1} |\ninput", 1, 1, "input(s)/0 is not allowed"},
		{"undefined function", "# fen is ours, feen is not\n.a |\n  feen", 3, 3, "function not defined: feen/0"},
		{"undefined variable", "{k: $ke}", 1, 5, "variable not defined: $ke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.give, Limits{})
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *CompileError", err)
			}
			if ce.Line != tt.wantLine || ce.Column != tt.wantCol || ce.Reason != tt.wantReason {
				t.Fatalf("got %d:%d %q, want %d:%d %q", ce.Line, ce.Column, ce.Reason, tt.wantLine, tt.wantCol, tt.wantReason)
			}
		})
	}
}
