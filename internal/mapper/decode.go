package mapper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// maxDepth bounds the nesting of arrays and objects in a message value.
const maxDepth = 64

// The message value as decoded: each member the mapper reads is a named
// field. A scalar is a span of the value's text (so numbers keep every digit
// and a member of the wrong type is reported, not fatal); objects and arrays
// are decoded as far as their kind allows (obj, list, prop).

// topJSON is the message value: a CloudEvents structured envelope, whose
// event is in Data, or the order event itself (docs/events.md).
type topJSON struct {
	SpecVersion     span           `json:"specversion"`
	ID              span           `json:"id"`
	Type            span           `json:"type"`
	Time            span           `json:"time"`
	Data            obj[eventJSON] `json:"data"`
	DataContentType span           `json:"datacontenttype"`
	DataBase64      span           `json:"data_base64"`
	Event           eventJSON      `json:",embed"`
}

type eventJSON struct {
	EventID    span              `json:"event_id"`
	EventType  span              `json:"event_type"`
	OccurredAt span              `json:"occurred_at"`
	Merchant   obj[merchantJSON] `json:"merchant"`
	Customer   obj[customerJSON] `json:"customer"`
	Order      obj[orderJSON]    `json:"order"`
	Payment    obj[paymentJSON]  `json:"payment"`
}

type merchantJSON struct {
	SpMchID   span `json:"sp_mchid"`
	SpAppID   span `json:"sp_appid"`
	ChannelID span `json:"channel_id"`
	SubMchID  span `json:"sub_mchid"`
	SubAppID  span `json:"sub_appid"`
	ShopNo    span `json:"shop_no"`
}

type customerJSON struct {
	OpenID     span `json:"openid"`
	SubOpenID  span `json:"sub_openid"`
	LoginToken span `json:"login_token"`
}

type orderJSON struct {
	OrderNo        span                `json:"order_no"`
	Entry          span                `json:"entry"`
	TableNo        span                `json:"table_no"`
	PeopleCount    span                `json:"people_count"`
	TotalAmount    span                `json:"total_amount"`
	DiscountAmount span                `json:"discount_amount"`
	UserAmount     span                `json:"user_amount"`
	Dishes         list[obj[dishJSON]] `json:"dishes"`
}

type dishJSON struct {
	DishNo     span                `json:"dish_no"`
	Name       span                `json:"name"`
	Price      span                `json:"price"`
	Unit       span                `json:"unit"`
	Count      span                `json:"count"`
	Discount   span                `json:"discount"`
	Category   span                `json:"category"`
	Priority   span                `json:"priority"`
	Properties obj[propertiesJSON] `json:"properties"`
}

// propertiesJSON holds taste, cuisine, main_material, ingredients and
// others, in the order they are sent (propertyKeys).
type propertiesJSON struct {
	Taste        prop `json:"taste"`
	Cuisine      prop `json:"cuisine"`
	MainMaterial prop `json:"main_material"`
	Ingredients  prop `json:"ingredients"`
	Others       prop `json:"others"`
}

func (p *propertiesJSON) all() [5]*prop {
	return [5]*prop{&p.Taste, &p.Cuisine, &p.MainMaterial, &p.Ingredients, &p.Others}
}

type paymentJSON struct {
	TransactionID span `json:"transaction_id"`
	OutTradeNo    span `json:"out_trade_no"`
	PaidAt        span `json:"paid_at"`
}

// obj is a member that must be an object: V is decoded when it is one,
// Kind says what was found (0 when absent).
type obj[T any] struct {
	Kind jsontext.Kind
	V    T
}

// UnmarshalJSONFrom decodes an object into V and skips any other value.
func (o *obj[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	o.Kind = dec.PeekKind()
	if o.Kind == '{' {
		return json.UnmarshalDecode(dec, &o.V)
	}
	return dec.SkipValue()
}

// present reports whether the member was given and not null.
func (o *obj[T]) present() bool { return o.Kind != 0 && o.Kind != 'n' }

// list is a member that must be an array, like obj.
type list[T any] struct {
	Kind jsontext.Kind
	V    []T
}

// UnmarshalJSONFrom decodes an array into V and skips any other value.
func (l *list[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	l.Kind = dec.PeekKind()
	if l.Kind == '[' {
		return json.UnmarshalDecode(dec, &l.V)
	}
	return dec.SkipValue()
}

// prop is a properties value: a string or other scalar (Value) or an array
// of n elements (elem); Kind says which (0 when absent). The first
// len(inline) elements are held in the prop itself, so a dish list decoded
// into reused memory does not allocate for them.
type prop struct {
	Kind   jsontext.Kind
	Value  span
	n      int
	inline [4]span
	more   []span // elements from len(inline) on
}

// elem returns element j < p.n of an array.
func (p *prop) elem(j int) span {
	if j < len(p.inline) {
		return p.inline[j]
	}
	return p.more[j-len(p.inline)]
}

// UnmarshalJSONFrom keeps a scalar as Value and an array's elements.
func (p *prop) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	p.Kind = dec.PeekKind()
	if p.Kind != '[' {
		return p.Value.UnmarshalJSONFrom(dec)
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != ']' {
		var e span
		if err := e.UnmarshalJSONFrom(dec); err != nil {
			return err
		}
		if p.n < len(p.inline) {
			p.inline[p.n] = e
		} else {
			p.more = append(p.more, e)
		}
		p.n++
	}
	_, err := dec.ReadToken()
	return err
}

func (p *prop) present() bool { return p.Kind != 0 && p.Kind != 'n' }

// span is where a scalar member's text is in the message value: value[lo:hi]
// (empty when absent).
type span struct{ lo, hi int32 }

// UnmarshalJSONFrom records where the value is, without copying it.
func (s *span) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	s.hi = int32(dec.InputOffset())
	s.lo = s.hi - int32(len(v))
	return nil
}

// given reports whether a scalar member was given and not null.
func given(v jsontext.Value) bool { return len(v) > 0 && v.Kind() != 'n' }

// unquote returns the content of the JSON string v (checked by the decoder).
func unquote(v jsontext.Value) []byte {
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1]
	}
	b, _ := jsontext.AppendUnquote(nil, v)
	return b
}

// decode parses value into top, or returns the violation that makes it
// unacceptable JSON: invalid syntax, invalid UTF-8, a duplicate name (the
// decoder's defaults reject both) or more than maxDepth levels of nesting.
func decode(value []byte, top *obj[topJSON]) *Violation {
	// Nesting cannot exceed the number of '{' and '[' bytes; only then is a
	// token-by-token check needed before decoding.
	if bytes.Count(value, []byte("{"))+bytes.Count(value, []byte("[")) > maxDepth {
		if v := checkSyntax(value); v != nil {
			return v
		}
	}
	if err := json.Unmarshal(value, top); err != nil {
		if v := checkSyntax(value); v != nil {
			return v
		}
		return &Violation{Reason: "invalid JSON: " + err.Error()}
	}
	return nil
}

// checkSyntax reads value token by token and describes its first fault, or
// returns nil. Field is a pointer to the value at fault.
func checkSyntax(value []byte) *Violation {
	dec := jsontext.NewDecoder(bytes.NewReader(value))
	for read := false; ; read = true {
		tok, err := dec.ReadToken()
		switch {
		case err == io.EOF && !read:
			return &Violation{Reason: fmt.Sprintf("invalid JSON at byte %d: unexpected end of input", len(value))}
		case err == io.EOF:
			return nil
		case err != nil:
			return syntaxViolation(value, err, read && dec.StackDepth() == 0)
		}
		if k := tok.Kind(); (k == '{' || k == '[') && dec.StackDepth() > maxDepth {
			return &Violation{Field: string(dec.StackPointer()),
				Reason: fmt.Sprintf("invalid JSON at byte %d: nested deeper than %d levels", dec.InputOffset()-1, maxDepth)}
		}
	}
}

// syntaxViolation words a decoder error; done says the top-level value was
// complete, so the fault is data after it.
func syntaxViolation(value []byte, err error, done bool) *Violation {
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return &Violation{Reason: "invalid JSON: " + err.Error()}
	}
	off := int(se.ByteOffset)
	reason := se.Err.Error()
	switch {
	case se.Err == jsontext.ErrDuplicateName:
		return &Violation{Field: string(se.JSONPointer), Reason: "duplicate key in object"}
	case se.Err == io.ErrUnexpectedEOF || off >= len(value):
		reason, off = "unexpected end of input", len(value)
	case done:
		reason = "unexpected data after the JSON value"
	case strings.HasSuffix(reason, "(expecting non-control character)"):
		reason = "control character in string"
	case strings.HasPrefix(reason, "invalid surrogate pair"):
		// The library's wording quotes the input; these do not.
		reason = `lone UTF-16 surrogate in \u escape`
	case strings.HasPrefix(reason, "invalid escape sequence `\\u"):
		reason = `invalid \u escape`
	case strings.HasPrefix(reason, "invalid escape sequence"):
		reason = "invalid escape"
	case strings.HasSuffix(reason, "at start of value"):
		reason = "unexpected character " + strconv.QuoteRune(rune(value[off]))
	}
	return &Violation{Field: string(se.JSONPointer), Reason: fmt.Sprintf("invalid JSON at byte %d: %s", off, reason)}
}
