package mapping

import (
	"fmt"
	"reflect"

	"github.com/itchyny/gojq"
)

// gojq writes some of its builtins in jq; guard never sees their bodies, so
// the sums, comparisons, tostring, setpath and delpaths inside them would
// run unchecked (gsub building a string of a billion bytes, IN comparing
// two values that share one array many times). prelude defines each of
// them again, with the same meaning, in front of the program: a program's
// own definitions shadow builtins, and guard checks these like the
// program's own code. A program that defines one of these names itself
// keeps its definition.
const prelude = `
def sub($re; str; $flags):
  . as $in
  | reduce match($re; $flags) as $m ({parts: [], from: 0};
      .from as $from
      | [$m.captures | _captures | str] as $outs
      | .parts |= [range([length, ($outs | length)] | max) as $k
          | if $k < ($outs | length) then .[$k] + ($in[$from:$m.offset] + $outs[$k]) else .[$k] end]
      | .from = $m.offset + $m.length)
  | .from as $from
  | (.parts[] + $in[$from:]) // $in;
def sub($re; str): sub($re; str; null);
def gsub($re; str; $flags): sub($re; str; $flags + "g");
def gsub($re; str): sub($re; str; "g");
def IN(s): . as $x | any(s; . == $x);
def IN(src; s): any(src as $x | s | . == $x; .);
def INDEX(stream; idx_expr): reduce stream as $row ({}; .[$row | idx_expr | tostring] = $row);
def INDEX(idx_expr): INDEX(.[]; idx_expr);
def del(f): delpaths([path(f)]);
def pick(f): . as $in | reduce path(f) as $p (null; setpath($p; $in | getpath($p)));
def map_values(f): .[] |= f;
def walk(f):
  def w: if type == "array" then map(w) elif type == "object" then map_values(w) end | f;
  w;
def fromstream(f):
  foreach f as $ev (null;
    if .done then null end
    | $ev as [$p, $v]
    | if ($ev | length) == 2 then setpath(["v"] + $p; $v) | setpath(["done"]; ($p | length) == 0)
      else setpath(["done"]; ($p | length) == 1) end;
    if .done then .v else empty end);
`

// preludeDefs parses prelude; it panics on a bad prelude (a bug here, not
// in the program).
func preludeDefs() []*gojq.FuncDef {
	q, err := gojq.Parse(prelude + ".")
	if err != nil {
		panic(fmt.Sprintf("mapping prelude: %v", err))
	}
	return q.FuncDefs
}

// internal are the functions gojq implements its own builtins with. A
// call of one would bypass guard (the sorts compare keys it never checked,
// _modify deletes through values it never measured), so a program may not
// call them unless it defines a function of that name itself.
var internal = map[string]bool{
	"_modify": true, "_assign": true, "_sort_by": true, "_group_by": true, "_unique_by": true,
	"_min_by": true, "_max_by": true, "_index": true, "_slice": true, "_range": true, "_last": true,
	"_match": true, "_captures": true, "_break": true,
}

// refuseInternal returns a *CompileError at the first call in q of an
// internal function q does not define.
func refuseInternal(src string, q *gojq.Query) error {
	defined := map[string]bool{}
	var called []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				return
			}
			switch x := v.Interface().(type) {
			case *gojq.FuncDef:
				defined[x.Name] = true
			case *gojq.Func:
				if internal[x.Name] {
					called = append(called, x.Name)
				}
			}
			walk(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(q))
	for _, name := range called {
		if !defined[name] {
			line, col := position(src, max(indexWord(src, name), 0))
			return &CompileError{Line: line, Column: col,
				Reason: fmt.Sprintf("%s is internal to jq and not available to a mapping program", name)}
		}
	}
	return nil
}

// withPrelude puts prelude's definitions in front of q's own.
func withPrelude(q *gojq.Query) {
	q.FuncDefs = append(preludeDefs(), q.FuncDefs...)
}
