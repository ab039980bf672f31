package mapper

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects in a message value.
const maxDepth = 64

// kind is the JSON type of a tape node.
type kind uint8

const (
	kindNull kind = iota + 1
	kindFalse
	kindTrue
	kindNumber
	kindString
	kindObject
	kindArray
)

// node is one JSON value (or object key) on a tape. An object node is followed
// by its members as key node, value subtree, key node, value subtree...; an
// array node by its element subtrees.
type node struct {
	start int32 // string: first content byte; otherwise first byte of the value
	end   int32 // string: offset of the closing quote; otherwise offset after the value
	next  int32 // index of the first node after this node's subtree
	kind  kind
	esc   bool // string contains backslash escapes
}

// tape is a parsed message value, and the dish buffer of the Map call that
// parsed it (pooled together, so a Map call allocates little more than the
// body it returns).
type tape struct {
	nodes  []node
	dishes []dish
}

// tapeKeep is the largest tape returned to the pool, so one huge event does
// not pin its memory.
const tapeKeep = 4096

var tapes = sync.Pool{New: func() any { return &tape{nodes: make([]node, 0, 256)} }}

func getTape() *tape { return tapes.Get().(*tape) }

func putTape(t *tape) {
	if cap(t.nodes) <= tapeKeep {
		t.nodes = t.nodes[:0]
		clear(t.dishes[:cap(t.dishes)]) // drop references into the message value
		t.dishes = t.dishes[:0]
		tapes.Put(t)
	}
}

// frame is an open container while parsing, kept to name the location of a
// syntax error as a JSON pointer.
type frame struct {
	obj bool
	key int32 // node index of the current member's key, -1 before it is read
	idx int32 // index of the current array element
}

// parser checks and tapes one JSON text: strict RFC 8259, valid UTF-8 with no
// lone surrogate escapes, no duplicate keys, at most maxDepth levels.
type parser struct {
	in     []byte
	pos    int
	nodes  []node
	frames [maxDepth]frame
	depth  int
}

// syntaxError is a value that is not acceptable JSON.
type syntaxError struct {
	ptr    string
	reason string
}

// parseJSON parses in onto t.
func parseJSON(in []byte, t *tape) *syntaxError {
	p := parser{in: in, nodes: t.nodes[:0]}
	err := p.parse()
	t.nodes = p.nodes
	return err
}

func (p *parser) parse() *syntaxError {
	p.ws()
	if err := p.value(); err != nil {
		return err
	}
	p.ws()
	if p.pos != len(p.in) {
		return p.fail("unexpected data after the JSON value")
	}
	return nil
}

func (p *parser) fail(msg string) *syntaxError {
	if p.pos >= len(p.in) {
		msg = "unexpected end of input"
	}
	return &syntaxError{ptr: p.pointer(), reason: fmt.Sprintf("invalid JSON at byte %d: %s", p.pos, msg)}
}

// pointer names the value being parsed.
func (p *parser) pointer() string {
	var b strings.Builder
	for _, f := range p.frames[:p.depth] {
		switch {
		case f.obj && f.key >= 0:
			b.WriteByte('/')
			b.WriteString(escapePointer(p.keyText(f.key)))
		case f.obj:
			return b.String()
		default:
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(int(f.idx)))
		}
	}
	return b.String()
}

func (p *parser) keyText(i int32) string {
	n := p.nodes[i]
	raw := p.in[n.start:n.end]
	if n.esc {
		return string(unescape(nil, raw))
	}
	return string(raw)
}

// escapePointer escapes one JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// push appends n to the tape, doubling its capacity when full (append's
// gentler growth for large slices would allocate several times the final
// size for a big value).
func (p *parser) push(n node) {
	if len(p.nodes) == cap(p.nodes) {
		grown := make([]node, len(p.nodes), 2*cap(p.nodes)+64)
		copy(grown, p.nodes)
		p.nodes = grown
	}
	p.nodes = append(p.nodes, n)
}

func (p *parser) ws() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() *syntaxError {
	if p.pos >= len(p.in) {
		return p.fail("unexpected end of input")
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return p.literal("true", kindTrue)
	case c == 'f':
		return p.literal("false", kindFalse)
	case c == 'n':
		return p.literal("null", kindNull)
	}
	return p.fail("unexpected character " + strconv.QuoteRune(rune(p.in[p.pos])))
}

func (p *parser) literal(word string, k kind) *syntaxError {
	if !bytes.HasPrefix(p.in[p.pos:], []byte(word)) {
		return p.fail("invalid literal")
	}
	i := int32(len(p.nodes))
	p.push(node{kind: k, start: int32(p.pos), end: int32(p.pos + len(word)), next: i + 1})
	p.pos += len(word)
	return nil
}

func (p *parser) open(obj bool) *syntaxError {
	if p.depth >= maxDepth {
		return p.fail(fmt.Sprintf("nested deeper than %d levels", maxDepth))
	}
	p.frames[p.depth] = frame{obj: obj, key: -1, idx: -1}
	p.depth++
	return nil
}

func (p *parser) object() *syntaxError {
	if err := p.open(true); err != nil {
		return err
	}
	f := &p.frames[p.depth-1]
	at := len(p.nodes)
	p.push(node{kind: kindObject, start: int32(p.pos)})
	p.pos++
	p.ws()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
	} else {
		for {
			f.key = -1
			if p.pos >= len(p.in) || p.in[p.pos] != '"' {
				return p.fail("expected a string key")
			}
			key := int32(len(p.nodes))
			if err := p.str(); err != nil {
				return err
			}
			f.key = key
			p.ws()
			if p.pos >= len(p.in) || p.in[p.pos] != ':' {
				return p.fail("expected ':' after a key")
			}
			p.pos++
			p.ws()
			if err := p.value(); err != nil {
				return err
			}
			more, err := p.after('}', "expected ',' or '}' in an object")
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	}
	p.nodes[at].end = int32(p.pos)
	p.nodes[at].next = int32(len(p.nodes))
	if dup := p.duplicate(at); dup >= 0 {
		f.key = dup
		return &syntaxError{ptr: p.pointer(), reason: "duplicate key in object"}
	}
	p.depth--
	return nil
}

// duplicate returns the node index of the second occurrence of a repeated
// key in the object at index at, or -1. Small objects compare keys pairwise,
// cheaply screened by length and end bytes; large ones use a set.
func (p *parser) duplicate(at int) int32 {
	type key struct {
		i   int32
		sig uint32 // length and first and last byte; 0 for an escaped key
	}
	var keys [16]key
	n := 0
	var seen map[string]struct{}
	for k := int32(at + 1); k < p.nodes[at].next; k = p.nodes[k+1].next {
		if seen != nil {
			t := p.keyText(k)
			if _, ok := seen[t]; ok {
				return k
			}
			seen[t] = struct{}{}
			continue
		}
		sig := p.keySig(k)
		for _, o := range keys[:n] {
			if (o.sig == sig || o.sig == 0 || sig == 0) && p.sameKey(o.i, k) {
				return k
			}
		}
		if n < len(keys) {
			keys[n] = key{k, sig}
			n++
			continue
		}
		seen = make(map[string]struct{}, 2*n)
		for _, o := range keys[:n] {
			seen[p.keyText(o.i)] = struct{}{}
		}
		seen[p.keyText(k)] = struct{}{}
	}
	return -1
}

func (p *parser) keySig(k int32) uint32 {
	n := p.nodes[k]
	if n.esc {
		return 0
	}
	l := n.end - n.start
	if l == 0 {
		return 1
	}
	return uint32(l)<<16 | uint32(p.in[n.start])<<8 | uint32(p.in[n.end-1]) | 1<<31
}

func (p *parser) sameKey(a, b int32) bool {
	na, nb := p.nodes[a], p.nodes[b]
	if !na.esc && !nb.esc {
		return bytes.Equal(p.in[na.start:na.end], p.in[nb.start:nb.end])
	}
	return p.keyText(a) == p.keyText(b)
}

func (p *parser) array() *syntaxError {
	if err := p.open(false); err != nil {
		return err
	}
	f := &p.frames[p.depth-1]
	at := len(p.nodes)
	p.push(node{kind: kindArray, start: int32(p.pos)})
	p.pos++
	p.ws()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
	} else {
		for {
			f.idx++
			if err := p.value(); err != nil {
				return err
			}
			more, err := p.after(']', "expected ',' or ']' in an array")
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	}
	p.nodes[at].end = int32(p.pos)
	p.nodes[at].next = int32(len(p.nodes))
	p.depth--
	return nil
}

func (p *parser) str() *syntaxError {
	in := p.in
	start := p.pos + 1
	i := start
	esc := false
	for {
		for i < len(in) && plain[in[i]] {
			i++
		}
		if i >= len(in) {
			p.pos = i
			return p.fail("unterminated string")
		}
		c := in[i]
		switch {
		case c == '"':
			n := int32(len(p.nodes))
			p.push(node{kind: kindString, start: int32(start), end: int32(i), next: n + 1, esc: esc})
			p.pos = i + 1
			return nil
		case c == '\\':
			esc = true
			p.pos = i
			size, err := p.escape(i)
			if err != nil {
				return err
			}
			i += size
		case c < 0x20:
			p.pos = i
			return p.fail("control character in string")
		case c < utf8.RuneSelf:
			i++
		case c >= 0xe1 && c <= 0xef && c != 0xed && i+2 < len(in) && in[i+1]&0xc0 == 0x80 && in[i+2]&0xc0 == 0x80:
			i += 3 // a well-formed 3-byte character (most CJK text) without decoding it
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 {
				p.pos = i
				return p.fail("invalid UTF-8")
			}
			i += size
		}
	}
}

// plain marks the bytes a string can hold without a closer look: printable
// ASCII other than the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escape checks the escape sequence at i and returns its length.
func (p *parser) escape(i int) (int, *syntaxError) {
	in := p.in
	if i+1 >= len(in) {
		return 0, p.fail("unterminated escape")
	}
	switch in[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		r, ok := hex4(in[i+2:])
		if !ok {
			return 0, p.fail(`invalid \u escape`)
		}
		if !utf16IsSurrogate(r) {
			return 6, nil
		}
		if r < 0xdc00 && i+7 < len(in) && in[i+6] == '\\' && in[i+7] == 'u' {
			if lo, ok := hex4(in[i+8:]); ok && lo >= 0xdc00 && lo <= 0xdfff {
				return 12, nil
			}
		}
		return 0, p.fail(`lone UTF-16 surrogate in \u escape`)
	}
	return 0, p.fail("invalid escape")
}

func utf16IsSurrogate(r rune) bool { return r >= 0xd800 && r <= 0xdfff }

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unescape appends the decoded content of a checked JSON string to dst.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw[i+2:])
			if utf16IsSurrogate(r) {
				lo, _ := hex4(raw[i+8:])
				r = (r-0xd800)<<10 | (lo - 0xdc00) + 0x10000
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			i += 6
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

func (p *parser) number() *syntaxError {
	in := p.in
	start := p.pos
	i := start
	if in[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case !digits():
		p.pos = i
		return p.fail("invalid number")
	}
	if i < len(in) && in[i] == '.' {
		i++
		if !digits() {
			p.pos = i
			return p.fail("invalid number: no digits after '.'")
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		if !digits() {
			p.pos = i
			return p.fail("invalid number: no digits in exponent")
		}
	}
	n := int32(len(p.nodes))
	p.push(node{kind: kindNumber, start: int32(start), end: int32(i), next: n + 1})
	p.pos = i
	return nil
}

// after reads what follows a member or an element: a comma (more follow,
// the white space after it skipped) or the container's closing byte; else
// it fails with msg.
func (p *parser) after(closing byte, msg string) (more bool, err *syntaxError) {
	p.ws()
	if p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ',':
			p.pos++
			p.ws()
			return true, nil
		case closing:
			p.pos++
			return false, nil
		}
	}
	return false, p.fail(msg)
}
