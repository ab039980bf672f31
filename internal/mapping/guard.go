package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"

	"github.com/itchyny/gojq"
)

// The step limit bounds what a program does one operation at a time, but a
// few operations build a value of any size in one step: `"x" * 1e9`, `. + .`
// repeated, `.[1e8] = 1`, `tostring` or `flatten` of a value that shares one
// array many times, `join` with a huge separator, `transpose`. guard rewrites
// the parsed program so that each of them first checks its operands and
// refuses, with its own error, to build a value whose JSON would exceed the
// build limit (see Limits). Comparisons and the builtins that compare (sort,
// unique, contains, …) are checked the same way: on such a shared value they
// would run in one step for longer than any time limit can interrupt. The
// rewritten program yields what the original yields whenever no check
// refuses.

// Names of the checks added by guard; a program cannot call them by mistake
// (the prefix is not one a user would write) and gains nothing by calling
// them on purpose.
const (
	fnSize      = "_ordersync_size"      // . within the limit
	fnPair      = "_ordersync_pair"      // [$l, $r] for l + r or l * r
	fnJoin      = "_ordersync_join"      // $sep for join($sep)
	fnSetpath   = "_ordersync_setpath"   // [$p, $v] for setpath($p; $v)
	fnIndex     = "_ordersync_index"     // an index or slice bound
	fnTranspose = "_ordersync_transpose" // . for transpose
	fnCompare   = "_ordersync_compare"   // [$l, $r] for l == r, l < r, …
)

// sizeChecked are the builtins, by name and arity, whose result grows with
// the full (unshared) size of their input: they run only on an input within
// the limit.
var sizeChecked = map[string][]int{
	"tostring": {0}, "tojson": {0}, "flatten": {0, 1}, "add": {0}, "implode": {0}, "explode": {0},
	"error": {0}, "halt_error": {0, 1}, "delpaths": {1},
	// Comparing values that share one array many times takes time exponential
	// in the program's steps, all in one step: these run on inputs within
	// the limit too (and l == r and the other comparisons, see guardQuery).
	"sort": {0}, "sort_by": {1}, "group_by": {1}, "unique": {0}, "unique_by": {1}, "min": {0}, "max": {0},
	"min_by": {1}, "max_by": {1}, "contains": {1}, "inside": {1}, "indices": {1}, "index": {1}, "rindex": {1},
}

// guardFuncs are the checks as gojq options; limit is in bytes of JSON.
func guardFuncs(limit int) []gojq.CompilerOption {
	over := func(what string) error {
		return fmt.Errorf("%s would be larger than the build limit of %d bytes", what, limit)
	}
	return []gojq.CompilerOption{
		gojq.WithFunction(fnSize, 0, 0, func(v any, _ []any) any {
			if jsonSize(v, limit) > limit {
				return over("the input of a builtin")
			}
			return v
		}),
		gojq.WithFunction(fnPair, 2, 2, func(_ any, args []any) any {
			l, r := args[0], args[1]
			if s, n, ok := repeat(l, r); ok {
				if n > 0 && float64(len(s))*n > float64(limit) {
					return over("a repeated string")
				}
			} else if jsonSize(l, limit)+jsonSize(r, limit) > limit && sameKind(l, r) {
				return over("a sum")
			}
			return []any{l, r}
		}),
		gojq.WithFunction(fnCompare, 2, 2, func(_ any, args []any) any {
			if jsonSize(args[0], limit) > limit || jsonSize(args[1], limit) > limit {
				return over("a compared value")
			}
			return []any{args[0], args[1]}
		}),
		gojq.WithFunction(fnJoin, 1, 1, func(v any, args []any) any {
			n := 0
			if a, ok := v.([]any); ok {
				n = len(a)
			}
			sep, _ := args[0].(string)
			if float64(jsonSize(v, limit))+float64(n)*float64(len(sep)) > float64(limit) {
				return over("a joined string")
			}
			return args[0]
		}),
		gojq.WithFunction(fnSetpath, 2, 2, func(_ any, args []any) any {
			if p, ok := args[0].([]any); ok {
				for _, e := range p {
					if indexOver(e, limit) {
						return over("an array grown to the index")
					}
					if m, ok := e.(map[string]any); ok && (indexOver(m["start"], limit) || indexOver(m["end"], limit)) {
						return over("an array grown to the slice")
					}
				}
			}
			return []any{args[0], args[1]}
		}),
		gojq.WithFunction(fnIndex, 0, 0, func(v any, _ []any) any {
			if indexOver(v, limit) {
				return over("an array grown to the index")
			}
			return v
		}),
		gojq.WithFunction(fnTranspose, 0, 0, func(v any, _ []any) any {
			rows, _ := v.([]any)
			longest := 0
			for _, r := range rows {
				if r, ok := r.([]any); ok {
					longest = max(longest, len(r))
				}
			}
			if float64(len(rows))*float64(longest) > float64(limit) {
				return over("a transposed array")
			}
			return v
		}),
	}
}

// repeat reports the string and count of a string repetition l * r.
func repeat(l, r any) (string, float64, bool) {
	if s, ok := l.(string); ok {
		if n, ok := number(r); ok {
			return s, n, true
		}
	}
	if s, ok := r.(string); ok {
		if n, ok := number(l); ok {
			return s, n, true
		}
	}
	return "", 0, false
}

// sameKind reports whether l and r are both strings, arrays or objects:
// the sums that allocate.
func sameKind(l, r any) bool {
	switch l.(type) {
	case string:
		_, ok := r.(string)
		return ok
	case []any:
		_, ok := r.([]any)
		return ok
	case map[string]any:
		_, ok := r.(map[string]any)
		return ok
	}
	return false
}

// indexOver reports whether v is a number above limit.
func indexOver(v any, limit int) bool {
	n, ok := number(v)
	return ok && n > float64(limit)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil || math.IsInf(f, 0)
	}
	return 0, false
}

// jsonSize is about the length of v's JSON, counting a shared value each
// time it appears; it stops counting past limit, so it costs at most about
// limit steps.
func jsonSize(v any, limit int) int {
	size := 0
	var walk func(v any)
	walk = func(v any) {
		if size > limit {
			return
		}
		switch x := v.(type) {
		case string:
			size += len(x) + 2
		case json.Number:
			size += len(x)
		case *big.Int:
			size += len(x.Bits())*20 + 1
		case []any:
			size += 2
			for _, e := range x {
				size++
				if walk(e); size > limit {
					return
				}
			}
		case map[string]any:
			size += 2
			for k, e := range x {
				size += len(k) + 4
				if walk(e); size > limit {
					return
				}
			}
		default: // nil, bool, int, float64
			size += 8
		}
	}
	walk(v)
	return size
}

// argChecked are the builtins, by name and arity, that compare or print
// the outputs of their arguments: each output must be within the limit.
var argChecked = map[string]int{
	"sort_by": 1, "group_by": 1, "unique_by": 1, "min_by": 1, "max_by": 1, "error": 1, "delpaths": 1,
}

// guard rewrites q in place (see the comment at the top of this file),
// prelude included (see prelude.go).
func guard(q *gojq.Query) {
	withPrelude(q)
	walkAST(reflect.ValueOf(q))
}

var (
	queryType = reflect.TypeFor[*gojq.Query]()
	termType  = reflect.TypeFor[*gojq.Term]()
	indexType = reflect.TypeFor[*gojq.Index]()
	strType   = reflect.TypeFor[*gojq.String]()
)

// walkAST visits every node under v, children first, and rewrites the
// queries, terms, indices and strings that need a check. The nodes it adds
// are not visited again.
func walkAST(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		walkAST(v.Elem())
		switch v.Type() {
		case queryType:
			guardQuery(v.Interface().(*gojq.Query))
		case termType:
			guardTerm(v.Interface().(*gojq.Term))
		case indexType:
			ix := v.Interface().(*gojq.Index)
			ix.Start, ix.End = through(ix.Start, fnIndex), through(ix.End, fnIndex)
		case strType:
			s := v.Interface().(*gojq.String)
			for i, iq := range s.Queries {
				if !literal(iq) { // a format applies to the interpolations only
					s.Queries[i] = through(iq, fnSize)
				}
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walkAST(v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkAST(v.Index(i))
		}
	}
}

// guardQuery rewrites l + r and l * r to check their operands, the
// updates l += r and l *= r to the same checked sum, the comparisons to
// compare operands within the limit, and l |= r to run on an input within
// the limit (when r yields nothing, gojq deletes the path and walks the
// whole input).
func guardQuery(q *gojq.Query) {
	var op string
	switch q.Op {
	case gojq.OpModify:
		modify := &gojq.Query{Left: q.Left, Op: gojq.OpModify, Right: q.Right}
		*q = gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeQuery,
			Query: &gojq.Query{Left: template("%s", fnSize), Op: gojq.OpPipe, Right: modify}}}
		return
	case gojq.OpEq, gojq.OpNe, gojq.OpLt, gojq.OpGt, gojq.OpLe, gojq.OpGe:
		t := template(`(%s(0; 0) as [$__ordersync_l, $__ordersync_r] | $__ordersync_l %s $__ordersync_r)`, fnCompare, q.Op)
		fill(t, fnCompare, q.Left, q.Right)
		*q = *t
		return
	case gojq.OpAdd, gojq.OpUpdateAdd:
		op = "+"
	case gojq.OpMul, gojq.OpUpdateMul:
		op = "*"
	default:
		return
	}
	l, r := q.Left, q.Right
	var t *gojq.Query
	if q.Op == gojq.OpAdd || q.Op == gojq.OpMul {
		t = template(`(%s(0; 0) as [$__ordersync_l, $__ordersync_r] | $__ordersync_l %s $__ordersync_r)`, fnPair, op)
		fill(t, fnPair, l, r)
	} else {
		// l op= r is: r as $x | l |= . op $x (for each output of r).
		t = template(`(0 as $__ordersync_x | 0 |= (%s(.; $__ordersync_x) as [$__ordersync_l, $__ordersync_r] | $__ordersync_l %s $__ordersync_r))`, fnPair, op)
		bind := t.Term.Query // Left as Patterns | Right
		bind.Left = r
		bind.Right.Left = l
	}
	*q = *t
}

// guardTerm puts a check in front of the calls of the builtins that need
// one, and of a format (@base64, @json, …) applied to the whole input.
func guardTerm(t *gojq.Term) {
	if t.Type == gojq.TermTypeFunc {
		if n, ok := argChecked[t.Func.Name]; ok && n == len(t.Func.Args) {
			for i, a := range t.Func.Args {
				t.Func.Args[i] = through(a, fnSize)
			}
		}
	}
	var q *gojq.Query
	switch {
	case t.Type == gojq.TermTypeFormat && t.Str == nil:
		q = template(`(%s | %s)`, fnSize, t.Format)
	case t.Type != gojq.TermTypeFunc:
		return
	case t.Func.Name == "join" && len(t.Func.Args) == 1:
		q = template(`(%s(0) as $__ordersync_s | join($__ordersync_s))`, fnJoin)
		fill(q, fnJoin, t.Func.Args...)
	case t.Func.Name == "setpath" && len(t.Func.Args) == 2:
		q = template(`(%s(0; 0) as [$__ordersync_p, $__ordersync_v] | setpath($__ordersync_p; $__ordersync_v))`, fnSetpath)
		fill(q, fnSetpath, t.Func.Args...)
	case t.Func.Name == "add" && len(t.Func.Args) == 1:
		q = template(`([0] | %s | add)`, fnSize)
		q.Term.Query.Left.Term.Array.Query = t.Func.Args[0]
	case t.Func.Name == "transpose" && len(t.Func.Args) == 0:
		q = template(`(%s | transpose)`, fnTranspose)
	default:
		arities, ok := sizeChecked[t.Func.Name]
		if !ok || !contains(arities, len(t.Func.Args)) {
			return
		}
		q = &gojq.Query{Left: template("%s", fnSize), Op: gojq.OpPipe,
			Right: &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: t.Func}}}
		q = &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeQuery, Query: q}}
	}
	*t = gojq.Term{Type: gojq.TermTypeQuery, Query: q, SuffixList: t.SuffixList}
}

// through returns (q | fn), or nil for a nil q.
func through(q *gojq.Query, fn string) *gojq.Query {
	if q == nil {
		return nil
	}
	return &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeQuery,
		Query: &gojq.Query{Left: q, Op: gojq.OpPipe, Right: template("%s", fn)}}}
}

// template parses a rewrite; it panics on a bad template (a bug here, not
// in the program).
func template(format string, args ...any) *gojq.Query {
	q, err := gojq.Parse(fmt.Sprintf(format, args...))
	if err != nil {
		panic(fmt.Sprintf("mapping guard template %q: %v", format, err))
	}
	return q
}

// fill sets the arguments of the call of fn in q.
func fill(q *gojq.Query, fn string, args ...*gojq.Query) {
	var found bool
	var find func(v reflect.Value)
	find = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || found {
				return
			}
			if f, ok := v.Interface().(*gojq.Func); ok && f.Name == fn {
				f.Args, found = args, true
				return
			}
			find(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				find(v.Field(i))
			}
		case reflect.Slice:
			for i := range v.Len() {
				find(v.Index(i))
			}
		}
	}
	find(reflect.ValueOf(q))
	if !found {
		panic("mapping guard template without " + fn)
	}
}

// literal reports whether q is a string literal: the text between the
// interpolations of a string.
func literal(q *gojq.Query) bool {
	return q.Term != nil && q.Term.Type == gojq.TermTypeString && q.Term.Str != nil &&
		q.Term.Str.Queries == nil && q.Term.SuffixList == nil && q.Op == 0
}

func contains(xs []int, x int) bool {
	for _, e := range xs {
		if e == x {
			return true
		}
	}
	return false
}
