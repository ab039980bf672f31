// Package mapping runs the deployment's jq program (the gojq dialect,
// ORDERSYNC_MAPPING_FILE) on each message value before it is mapped, so that a
// platform's own event shape becomes an order event (README, "Bringing your
// own event schema").
//
// A Program is compiled once and is safe for concurrent use. Apply decodes the
// value keeping every JSON number's decimal text (a number the program only
// moves is written out exactly as received; integers of any size stay exact),
// runs the program with $key, $headers, $topic, $partition, $offset and
// $timestamp bound, and returns the one object it yields as JSON. Besides
// jq's builtins the program may call fen, which turns a yuan amount (a
// decimal string or number) into integer fen exactly.
//
// Outcomes: one object → its JSON; null or no output → ErrNothing; a value
// that is not JSON, a runtime error, several outputs, a non-object, or a run
// over a limit (Limits) → *Error, whose message starts with "mapping: "
// and never repeats text of the message (see scrub). The program sees an
// empty environment ($ENV) and can read no files and no further inputs.
package mapping

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itchyny/gojq"

	"github.com/ordersync/ordersync/internal/mapper"
)

// Defaults of Limits.
const (
	DefaultMaxSteps       = 1_000_000
	DefaultTimeout        = 10 * time.Second
	DefaultMaxOutputBytes = mapper.DefaultMaxValueBytes
	DefaultMaxValueBytes  = mapper.DefaultMaxValueBytes
	// MaxOutputDepth is the deepest nesting of an output; the mapper accepts
	// no deeper value.
	MaxOutputDepth = 64
)

// ErrNothing is returned when the program yields null or nothing: the
// event is skipped with this reason.
var ErrNothing = errors.New("mapping produced nothing")

// Error says why a message could not be mapped: the event is invalid. The
// message is one line and holds no run of 8 or more bytes taken from a
// string of the message (value, key or headers).
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "mapping: " + e.Reason }

// CompileError is a program that does not compile, with the 1-based line
// and column (in characters) of the offending token.
type CompileError struct {
	Line, Column int
	Reason       string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Reason)
}

// Limits bound the cost of one run. Zero fields take the defaults.
//
// MaxSteps is the limit that stops a program that loops, recurses or builds
// a huge value: it counts the program's operations, so it judges a program
// the same way on an idle machine and on a saturated one (a wall-clock limit
// would dead-letter good events whenever the worker waits for a core).
// Timeout is a backstop in wall-clock time for the few builtins that do much
// in one operation (sorting or printing a large value).
//
// Memory: the operations that can build a large value in one step (string
// repetition and sums, growing an array to an index, tostring, tojson, a
// format, flatten, add, join, implode, explode, transpose, error) refuse to
// build one whose JSON would exceed the build limit, twice the larger of
// MaxValueBytes and MaxOutputBytes; comparisons and the builtins that
// compare (sort, unique, contains, …) refuse operands over it (see guard.go).
type Limits struct {
	// MaxSteps bounds the jq operations of one run.
	MaxSteps int
	// Timeout bounds one run in wall-clock time.
	Timeout time.Duration
	// MaxOutputBytes bounds the JSON of the object the program yields.
	MaxOutputBytes int
	// MaxValueBytes bounds the message value given to the program.
	MaxValueBytes int
}

// Input is one Kafka message.
type Input struct {
	Value     []byte
	Key       []byte // nil: $key is null
	Headers   []mapper.Header
	Topic     string
	Partition int
	Offset    int64
	Timestamp time.Time // zero: $timestamp is null
}

// buildLimit is the largest value, in bytes of JSON, that one operation of
// the program may build (see Limits).
func (l Limits) buildLimit() int { return 2 * max(l.MaxValueBytes, l.MaxOutputBytes) }

// variables are bound, in this order, to the values Apply passes.
var variables = []string{"$key", "$headers", "$topic", "$partition", "$offset", "$timestamp"}

// Program is a compiled mapping program. It is safe for concurrent use.
type Program struct {
	code   *gojq.Code
	limits Limits
}

// Load reads and compiles the program in the file at path. A program that
// does not compile is reported as path, line and column (a *CompileError in
// the chain).
func Load(path string, lim Limits) (*Program, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mapping program: %w", err)
	}
	p, err := Compile(string(src), lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Compile compiles src. The error of a program that does not parse or
// names an undefined function or variable is a *CompileError.
func Compile(src string, lim Limits) (*Program, error) {
	if lim.MaxSteps < 0 || lim.Timeout < 0 || lim.MaxOutputBytes < 0 || lim.MaxValueBytes < 0 {
		return nil, errors.New("mapping limits must not be negative")
	}
	if lim.MaxSteps == 0 {
		lim.MaxSteps = DefaultMaxSteps
	}
	if lim.Timeout == 0 {
		lim.Timeout = DefaultTimeout
	}
	if lim.MaxOutputBytes == 0 {
		lim.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if lim.MaxValueBytes == 0 {
		lim.MaxValueBytes = DefaultMaxValueBytes
	}
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, parseError(src, err)
	}
	if err := refuseInternal(src, q); err != nil {
		return nil, err
	}
	guard(q)
	opts := append([]gojq.CompilerOption{
		gojq.WithVariables(variables),
		gojq.WithFunction("fen", 0, 0, fen),
		gojq.WithEnvironLoader(func() []string { return nil }),
	}, guardFuncs(lim.buildLimit())...)
	code, err := gojq.Compile(q, opts...)
	if err != nil {
		return nil, undefinedError(src, err)
	}
	return &Program{code: code, limits: lim}, nil
}

// Apply runs the program on in (see the package comment for the outcomes).
// When ctx ends during the run, Apply returns ctx's error, not an *Error:
// the event was not judged.
func (p *Program) Apply(ctx context.Context, in Input) ([]byte, error) {
	if len(in.Value) > p.limits.MaxValueBytes {
		return nil, &Error{Reason: fmt.Sprintf("value is larger than %d bytes", p.limits.MaxValueBytes)}
	}
	v, err := decode(in.Value)
	if err != nil {
		return nil, &Error{Reason: scrub(err.Error(), in, nil)}
	}
	run := &budget{Context: ctx, limit: p.limits.MaxSteps, deadline: time.Now().Add(p.limits.Timeout)}
	iter := p.code.RunWithContext(run, v, vars(in)...)
	var out any
	n := 0
	for {
		x, ok := iter.Next()
		if !ok {
			break
		}
		if err, isErr := x.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				break // halt: stop without an error
			}
			switch {
			case run.err == nil:
			case errors.Is(err, errSteps):
				return nil, &Error{Reason: fmt.Sprintf("step limit of %d operations exceeded", p.limits.MaxSteps)}
			case errors.Is(err, errDeadline):
				return nil, &Error{Reason: fmt.Sprintf("time limit of %s exceeded", p.limits.Timeout)}
			default: // ctx is done: the event was not judged
				return nil, fmt.Errorf("mapping: %w", err)
			}
			return nil, &Error{Reason: scrub(err.Error(), in, v)}
		}
		if n++; n > 1 {
			return nil, &Error{Reason: "the program yielded more than one value"}
		}
		out = x
	}
	if out == nil {
		return nil, ErrNothing
	}
	obj, ok := out.(map[string]any)
	if !ok {
		return nil, &Error{Reason: fmt.Sprintf("the program yielded %s, want an object", typeName(out))}
	}
	if reason := tooBig(obj, p.limits.MaxOutputBytes); reason != "" {
		return nil, &Error{Reason: reason}
	}
	b, err := gojq.Marshal(obj)
	if err != nil {
		return nil, &Error{Reason: "cannot encode the output"}
	}
	if len(b) > p.limits.MaxOutputBytes {
		return nil, &Error{Reason: fmt.Sprintf("output is larger than %d bytes", p.limits.MaxOutputBytes)}
	}
	return b, nil
}

// decode reads exactly one JSON value, numbers as json.Number.
func decode(value []byte) (any, error) {
	if !utf8.Valid(value) {
		return nil, errors.New("value is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("value is empty")
		}
		return nil, fmt.Errorf("value is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("value is not JSON: data after the first value")
	}
	return v, nil
}

// vars returns the values of variables for in.
func vars(in Input) []any {
	var key any
	if in.Key != nil {
		key = string(in.Key)
	}
	headers := make(map[string]any, len(in.Headers))
	for _, h := range in.Headers {
		headers[h.Key] = string(h.Value)
	}
	var ts any
	if !in.Timestamp.IsZero() {
		ts = in.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	return []any{key, headers, in.Topic, in.Partition, int(in.Offset), ts}
}

// tooBig walks v and reports why it may not be handed on — a number that
// is not finite (gojq.Marshal would write null or a huge number), deeper
// than MaxOutputDepth, or JSON larger than limit (counted without escapes,
// so Apply checks the encoded length again) — or "" when it may.
func tooBig(v any, limit int) string {
	size, depth, finite := 0, 0, true
	var walk func(v any, level int) bool
	walk = func(v any, level int) bool {
		if level > MaxOutputDepth {
			depth = level
			return false
		}
		switch x := v.(type) {
		case string:
			size += len(x) + 2
		case json.Number:
			size += len(x)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				finite = false
				return false
			}
			size += 24
		case map[string]any:
			size += 2
			for k, e := range x {
				size += len(k) + 4
				if size > limit || !walk(e, level+1) {
					return false
				}
			}
		case []any:
			size += 2
			for _, e := range x {
				size++
				if size > limit || !walk(e, level+1) {
					return false
				}
			}
		default: // nil, bool, int, float64, *big.Int: short
			size += 8
		}
		return size <= limit
	}
	if walk(v, 1) {
		return ""
	}
	if !finite {
		return "the output holds a number that is not finite"
	}
	if depth > 0 {
		return fmt.Sprintf("output is nested deeper than %d levels", MaxOutputDepth)
	}
	return fmt.Sprintf("output is larger than %d bytes", limit)
}

func typeName(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a number"
}

// parseError turns a gojq parse error into a *CompileError at the start of
// the offending token.
func parseError(src string, err error) error {
	var pe *gojq.ParseError
	if !errors.As(err, &pe) {
		return &CompileError{Line: 1, Column: 1, Reason: err.Error()}
	}
	at := min(max(pe.Offset-len(pe.Token), 0), len(src))
	line, col := position(src, at)
	return &CompileError{Line: line, Column: col, Reason: pe.Error()}
}

// undefinedError places a compile error ("function not defined: name/1",
// "variable not defined: $name") at the first place the name appears.
func undefinedError(src string, err error) error {
	msg := err.Error()
	at := 0
	for _, prefix := range []string{"function not defined: ", "variable not defined: "} {
		if name, ok := strings.CutPrefix(msg, prefix); ok {
			if i := strings.LastIndexByte(name, '/'); i > 0 {
				name = name[:i]
			}
			at = max(indexWord(src, name), 0)
		}
	}
	line, col := position(src, at)
	return &CompileError{Line: line, Column: col, Reason: msg}
}

// indexWord is the offset of the first occurrence of name not inside a
// longer identifier nor after a '#' on its line (a comment), or -1.
func indexWord(src, name string) int {
	isIdent := func(c byte) bool {
		return c == '_' || c == '$' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	for from := 0; from < len(src); {
		i := strings.Index(src[from:], name)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(name)
		lineStart := strings.LastIndexByte(src[:i], '\n') + 1
		comment := strings.IndexByte(src[lineStart:i], '#') >= 0
		if !comment && (i == 0 || !isIdent(src[i-1])) && (end == len(src) || !isIdent(src[end])) {
			return i
		}
		from = i + 1
	}
	return -1
}

// position is the 1-based line and column (in characters) of offset.
func position(src string, offset int) (line, col int) {
	line, col = 1, 1
	for _, r := range src[:offset] {
		if r == '\n' {
			line, col = line+1, 1
			continue
		}
		col++
	}
	return line, col
}

// quoteMax bounds a gojq message before it is scrubbed.
const quoteMax = 240

// oneLine cuts s to quoteMax bytes and escapes control characters.
func oneLine(s string) string {
	if len(s) > quoteMax {
		cut := quoteMax
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}
