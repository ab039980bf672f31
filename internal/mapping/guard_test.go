package mapping

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/itchyny/gojq"
)

// TestHostileBuildsAreRefused: each operation that could build a huge value in one step refuses
// once the value would pass the build limit (twice the larger of the value and output limits,
// 8192 bytes here), with its own error, long before it allocates.
func TestHostileBuildsAreRefused(t *testing.T) {
	lim := Limits{MaxOutputBytes: 4096, MaxValueBytes: 1024}
	doubled := `(reduce range(40) as $i ([1]; [., .]))` // 2^40 leaves sharing one array
	tests := []struct {
		name, giveProgram, wantReason string
	}{
		{"string repeat", `{a: ("x" * 1e9)}`, "a repeated string"},
		{"number * string", `{a: (1e9 * "xy")}`, "a repeated string"},
		{"doubling string", `reduce range(40) as $i ("x"; . + .) | {a: .}`, "a sum"},
		{"doubling string by +=", `reduce range(40) as $i ("x"; . += .) | {a: .}`, "a sum"},
		{"doubling array", `reduce range(40) as $i ([1]; . + .) | {a: .}`, "a sum"},
		{"doubling string by *= on a field", `{a: "x"} | reduce range(40) as $i (.; .a *= 2) | {}`, "a repeated string"},
		{"index assignment", `.a[1e8] = 1`, "an array grown to the index"},
		{"index update", `.a[1e8] |= 1`, "an array grown to the index"},
		{"slice assignment", `.a[1e8:1e8] = [1]`, "an array grown to the index"},
		{"setpath", `setpath(["a", 1e8]; 1)`, "an array grown to the index"},
		{"setpath slice", `setpath(["a", {"start": 1e8, "end": 1e8}]; [1])`, "an array grown to the slice"},
		{"tostring of a shared value", doubled + ` | {a: tostring}`, "the input of a builtin"},
		{"tojson of a shared value", doubled + ` | {a: tojson}`, "the input of a builtin"},
		{"interpolation", doubled + ` | {a: "\(.)"}`, "the input of a builtin"},
		{"format", doubled + ` | {a: @json}`, "the input of a builtin"},
		{"format of a string", `("x" * 8000) as $s | [$s, $s] | {a: @csv}`, "the input of a builtin"},
		{"flatten", doubled + ` | {a: flatten}`, "the input of a builtin"},
		{"flatten(depth)", doubled + ` | {a: flatten(100)}`, "the input of a builtin"},
		{"add", `("x" * 4000) as $s | [range(10) | $s] | {a: add}`, "the input of a builtin"},
		{"add(f)", `("x" * 4000) as $s | {a: add(range(10) | $s)}`, "the input of a builtin"},
		{"join", `("x" * 4000) as $s | [range(10) | $s] | {a: join(",")}`, "a joined string"},
		{"join separator", `[range(1000) | "a"] | {a: join("x" * 4000)}`, "a joined string"},
		{"implode", `[range(2000) | 65] | {a: implode}`, "the input of a builtin"},
		{"explode within the limit is left to the output limit", `("x" * 4000) as $s | [$s, $s, $s] | {a: map(explode)}`, ""},
		{"transpose", `[range(100)] as $row | [range(100) | $row] | {a: transpose}`, "a transposed array"},
		{"error of a shared value", doubled + ` | error`, "the input of a builtin"},
		{"halt_error of a shared value", doubled + ` | halt_error`, "the input of a builtin"},
		{"comparison of shared values", doubled + ` | {a: (. == .)}`, "a compared value"},
		{"ordering of shared values", doubled + ` | {a: (. < [2])}`, "a compared value"},
		{"sort of shared values", doubled + ` | [., .] | {a: sort}`, "the input of a builtin"},
		{"unique_by of shared values", doubled + ` | [., .] | {a: unique_by(.)}`, "the input of a builtin"},
		{"contains of shared values", doubled + ` | {a: contains([[1]])}`, "the input of a builtin"},
		{"inside a function", `def twice: . + .; reduce range(40) as $i ("x"; twice) | {a: .}`, "a sum"},
		// Builtins gojq writes in jq: checked through their definitions in prelude.go.
		{"gsub", `("x" * 1000) as $r | ("a" * 5000) | {a: gsub("a"; $r)}`, "a sum"},
		{"sub with g and a capture", `("x" * 1000) as $r | ("a" * 5000) | {a: sub("(?<c>a)"; $r + .c; "g")}`, "a sum"},
		{"gsub with flags", `("x" * 1000) as $r | ("A" * 5000) | {a: gsub("a"; $r; "i")}`, "a sum"},
		{"IN of a shared value", doubled + ` as $d | {a: ($d | IN($d))}`, "a compared value"},
		{"IN(src; s) of shared values", doubled + ` as $d | {a: IN($d; $d)}`, "a compared value"},
		{"INDEX by a shared key", doubled + ` as $d | {a: INDEX([1][]; $d)}`, "the input of a builtin"},
		{"sort_by a shared key", `[1, 1] | {a: sort_by(` + doubled + `)}`, "the input of a builtin"},
		{"group_by a shared key", `[1, 1] | {a: group_by(` + doubled + `)}`, "the input of a builtin"},
		{"min_by a shared key", `[1, 1] | {a: min_by(` + doubled + `)}`, "the input of a builtin"},
		{"del in a shared value", doubled + ` | {a: ({x: .} | del(.y))}`, "the input of a builtin"},
		{"delpaths by shared paths", doubled + ` as $d | {a: delpaths([$d, $d])}`, "the input of a builtin"},
		{"update to nothing in a shared value", doubled + ` | {a: ({x: .} | .y |= empty)}`, "the input of a builtin"},
		{"map_values in a shared value", doubled + ` | {a: ([.] | map_values(empty))}`, "the input of a builtin"},
		{"pick grows an array", `{a: pick(.[1e8])}`, "an array grown to the index"},
		{"fromstream grows an array", `{a: fromstream([[1e8], 1], [[1e8]])}`, "an array grown to the index"},
		{"error of a shared argument", doubled + ` as $d | error($d)`, "the input of a builtin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := apply(t, compile(t, tt.giveProgram, lim), `{}`)
			if tt.wantReason == "" { // within the limit: the output limit judges it
				var me *Error
				if !errors.As(err, &me) || !strings.Contains(me.Reason, "output is larger") {
					t.Fatalf("got %s, %v; want the output limit", out, err)
				}
				return
			}
			want := tt.wantReason + " would be larger than the build limit of 8192 bytes"
			var me *Error
			if !errors.As(err, &me) || !strings.Contains(me.Reason, want) {
				t.Fatalf("got %s, %v; want %q", out, err, want)
			}
		})
	}
}

// TestInternalFunctionsAreRefused: the functions gojq builds its builtins from would bypass the
// checks; a call of one does not compile, unless the program defines that name itself.
func TestInternalFunctionsAreRefused(t *testing.T) {
	for _, src := range []string{`{a: _modify(paths; empty)}`, "{a: 1}\n| .b = ([1, 1] | _sort_by([[1], [1]]))"} {
		_, err := Compile(src, Limits{})
		var ce *CompileError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "is internal to jq") {
			t.Fatalf("%q: got %v, want a CompileError saying the function is internal", src, err)
		}
		if strings.Contains(src, "\n") && (ce.Line != 2 || ce.Column != 18) {
			t.Fatalf("%q: at line %d, column %d, want line 2, column 18", src, ce.Line, ce.Column)
		}
	}
	out, err := apply(t, compile(t, `def _sort_by(f): "mine"; {a: _sort_by(1)}`, Limits{}), `{}`)
	if err != nil || string(out) != `{"a":"mine"}` {
		t.Fatalf("own _sort_by: got %s, %v", out, err)
	}
}

// TestDefaultBuildLimitStopsAGigabyteString: with the default limits, `"x" * 1e9` (which gojq
// alone would build: its own cap is 2^31 bytes) is refused before it is built.
func TestDefaultBuildLimitStopsAGigabyteString(t *testing.T) {
	_, err := apply(t, compile(t, `{a: ("x" * 1e9)}`, Limits{}), `{}`)
	var me *Error
	want := fmt.Sprintf("a repeated string would be larger than the build limit of %d bytes", 2*DefaultMaxValueBytes)
	if !errors.As(err, &me) || !strings.Contains(me.Reason, want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// TestGuardKeepsMeaning: within the limits, each rewritten operation yields exactly what gojq
// yields for the program as written: the same values, in the same order, or the same error.
func TestGuardKeepsMeaning(t *testing.T) {
	value := `{"a": 1, "b": 2.5, "s": "ab", "arr": [1, 2, 3], "o": {"k": 1, "j": {"x": 1}}, "m": [[1, 2], [3]], "n": null}`
	programs := []string{
		`.a + .b`, `.s + .s`, `.arr + .arr`, `.o + {z: 1}`, `.n + 1`, `.o * {j: {y: 2}}`, `.s * 3`, `3 * .s`,
		`.s * 0`, `.s * -1`, `.a * .b`, `(.a, .b) + (10, 20)`, `(.a, .b) * (10, 20)`, `{} + 1`, `.s * .s`,
		`.a += 1`, `.arr[] += 1`, `.arr[1] *= 2`, `.o.k += (1, 2)`, `.s *= 2`, `.a += .b`, `.arr += [.a]`,
		`.arr[1] = 5`, `.arr[5] = 1`, `.arr[-1] = 9`, `.arr[1:] = ["x"]`, `.arr[1:2]`, `.arr[-1]`, `.arr[.a]`,
		`.["s"]`, `.o[("k", "j")]`, `del(.arr[0])`, `[path(.arr[0], .o.k)]`, `to_entries`, `[paths]`,
		`.m | transpose`, `.m | flatten`, `.m | flatten(1)`, `.arr | add`, `add(.arr[])`, `[.s, .s] | add`,
		`[.s, "c"] | join(",")`, `[.s, "c"] | join(",", "-")`, `setpath(["arr", 1]; 7)`, `setpath(["x", "y"]; 1, 2)`,
		`getpath(["o", "k"])`, `tostring`, `tojson`, `.s | explode | implode`, `[.arr[] | tostring]`,
		`"x\(.a)y\(.s)"`, `@base64 "v=\(.s)"`, `.s | @base64`, `@json`, `.arr | @csv`, `.s | gsub("a"; "b")`,
		`.s | ascii_upcase`, `def f: . + 1; .a | f`, `def add: 0; add`, `reduce .arr[] as $x (0; . + $x)`,
		`.o |= with_entries(.value += 1)`, `.a as $x | $x + 1`, `[limit(3; repeat(1))]`, `try error("x") catch .`,
		`try error catch .`, `try (.o | error) catch .`, `.arr | map(. * 2)`, `[.[] | numbers] | add`,
		`.arr as [$x, $y] | $x + $y`, `. as {a: $x} | $x + 1`, `[.arr[] as $x | $x * $x]`, `.arr | .[1:] + .[:1]`,
		`label $out | .arr[] | if . > 1 then ., break $out else . end`, `.o.j.x |= . + 1`,
		`.a == 1`, `.a != .b`, `.a < .b`, `.s >= "a"`, `.arr <= [1]`, `(1, 2) > (0, 3)`, `[.arr[] | select(. > 1)]`,
		`.arr | sort`, `.m | sort_by(length)`, `.m | group_by(length)`, `.arr | unique`, `.m | unique_by(length)`,
		`.arr | min, max`, `.m | min_by(length), max_by(length)`, `.o | contains({k: 1})`, `{k: 1} | inside({k: 1, j: 2})`,
		`.arr | indices(2)`, `.s | index("b"), rindex("a")`,
		// The builtins prelude.go defines again.
		`.s | sub("a"; "x")`, `.s | sub("(?<c>[ab])"; "<\(.c)>"; "g")`, `.s | gsub("[ab]"; "1", "22")`,
		`"aXbXc" | gsub("x"; "-"; "i")`, `"abc" | sub("(?<l>.)"; (.l, .l + .l))`, `"abab" | [gsub("b"; "1", "2")]`,
		`"abab" | gsub("(?<x>a)|b"; if .x then "A" else empty end)`, `"" | gsub(""; "x")`, `.s | sub("z"; "y")`,
		`"aaa" | sub("a"; 1)`, `.a | sub("a"; "b")`, `"ab" | gsub(""; "-")`, `"äöü" | gsub("ö"; "o")`,
		`.a | IN(1, 2)`, `IN(.arr[]; 2, 5)`, `INDEX(.m[]; length)`, `.m | INDEX(length)`, `del(.o.k, .arr[1:])`,
		`pick(.o.j.x, .arr[1])`, `map_values(numbers)`, `.arr | map_values(empty)`, `walk(if type == "number" then . + 1 end)`,
		`fromstream(tostream)`, `[.m | tostream] | fromstream(.[])`, `fromstream(1 | truncate_stream([[0], 1], [[1, 0], 2], [[1, 0]], [[1]]))`,
		`.m | sort_by(.[0])`, `.m | [min_by(.[0]), max_by(.[0])]`, `try error({x: 1}) catch .`, `.o | delpaths([["k"]])`,
		`.o.j |= empty`, `.arr[1:] |= map(. * 10)`,
	}
	for _, src := range programs {
		t.Run(src, func(t *testing.T) {
			q, err := gojq.Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := gojq.Compile(q, gojq.WithVariables(variables))
			if err != nil {
				t.Fatal(err)
			}
			guarded := compile(t, src, Limits{})
			v, err := decode([]byte(value))
			if err != nil {
				t.Fatal(err)
			}
			want := collect(plain, v)
			got := collect(guarded.code, v)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("guarded program yields %v, want %v", got, want)
			}
		})
	}
}

// collect runs code on v and returns every output, an error as its message.
func collect(code *gojq.Code, v any) []any {
	iter := code.RunWithContext(context.Background(), v, vars(Input{})...)
	var out []any
	for {
		x, ok := iter.Next()
		if !ok {
			return out
		}
		if err, isErr := x.(error); isErr {
			return append(out, "error: "+err.Error())
		}
		out = append(out, x)
	}
}
