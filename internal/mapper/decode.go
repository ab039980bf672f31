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
// are decoded as far as their kind allows (obj, dishList, prop). Each object
// type names its members in its member method; other members are skipped.
// The decoder checks the syntax, the UTF-8 and that no name repeats.

// members is an object type: member returns where the value of the member
// called name (unquoted) goes, or nil when the mapper does not read it.
type members interface {
	member(name []byte) json.UnmarshalerFrom
}

var (
	_ members = (*topJSON)(nil)
	_ members = (*eventJSON)(nil)
	_ members = (*merchantJSON)(nil)
	_ members = (*customerJSON)(nil)
	_ members = (*orderJSON)(nil)
	_ members = (*dishJSON)(nil)
	_ members = (*propertiesJSON)(nil)
	_ members = (*paymentJSON)(nil)
)

// decodeMembers reads the object that is next in dec into o.
func decodeMembers(dec *jsontext.Decoder, o members) error {
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			return err
		}
		// A name the mapper reads has no escapes, so the name as written is
		// tried first; one with an escape is unquoted and tried again.
		raw := name[1 : len(name)-1]
		u := o.member(raw)
		if u == nil && bytes.IndexByte(raw, '\\') >= 0 {
			u = o.member(unquote(name))
		}
		if u != nil {
			err = u.UnmarshalJSONFrom(dec)
		} else {
			err = dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
}

// topJSON is the message value: a CloudEvents structured envelope, whose
// event is in Data, or the order event itself (docs/events.md).
type topJSON struct {
	SpecVersion     span
	ID              span
	Type            span
	Time            span
	Data            obj[eventJSON]
	DataContentType span
	DataBase64      span
	Event           eventJSON // the order event's members, at the top level
}

func (t *topJSON) member(name []byte) json.UnmarshalerFrom {
	switch string(name) {
	case "specversion":
		return &t.SpecVersion
	case "id":
		return &t.ID
	case "type":
		return &t.Type
	case "time":
		return &t.Time
	case "data":
		return &t.Data
	case "datacontenttype":
		return &t.DataContentType
	case "data_base64":
		return &t.DataBase64
	}
	return t.Event.member(name)
}

type eventJSON struct {
	EventID    span
	EventType  span
	OccurredAt span
	Merchant   obj[merchantJSON]
	Customer   obj[customerJSON]
	Order      obj[orderJSON]
	Payment    obj[paymentJSON]
}

func (e *eventJSON) member(name []byte) json.UnmarshalerFrom {
	switch string(name) {
	case "event_id":
		return &e.EventID
	case "event_type":
		return &e.EventType
	case "occurred_at":
		return &e.OccurredAt
	case "merchant":
		return &e.Merchant
	case "customer":
		return &e.Customer
	case "order":
		return &e.Order
	case "payment":
		return &e.Payment
	}
	return nil
}

type merchantJSON struct {
	SpMchID   span
	SpAppID   span
	ChannelID span
	SubMchID  span
	SubAppID  span
	ShopNo    span
}

func (m *merchantJSON) member(name []byte) json.UnmarshalerFrom {
	switch string(name) {
	case "sp_mchid":
		return &m.SpMchID
	case "sp_appid":
		return &m.SpAppID
	case "channel_id":
		return &m.ChannelID
	case "sub_mchid":
		return &m.SubMchID
	case "sub_appid":
		return &m.SubAppID
	case "shop_no":
		return &m.ShopNo
	}
	return nil
}

type customerJSON struct {
	OpenID     span
	SubOpenID  span
	LoginToken span
}

func (c *customerJSON) member(name []byte) json.UnmarshalerFrom {
	switch string(name) {
	case "openid":
		return &c.OpenID
	case "sub_openid":
		return &c.SubOpenID
	case "login_token":
		return &c.LoginToken
	}
	return nil
}

type orderJSON struct {
	OrderNo        span
	Entry          span
	TableNo        span
	PeopleCount    span
	TotalAmount    span
	DiscountAmount span
	UserAmount     span
	Dishes         dishList
}

func (o *orderJSON) member(name []byte) json.UnmarshalerFrom {
	switch string(name) {
	case "order_no":
		return &o.OrderNo
	case "entry":
		return &o.Entry
	case "table_no":
		return &o.TableNo
	case "people_count":
		return &o.PeopleCount
	case "total_amount":
		return &o.TotalAmount
	case "discount_amount":
		return &o.DiscountAmount
	case "user_amount":
		return &o.UserAmount
	case "dishes":
		return &o.Dishes
	}
	return nil
}

type dishJSON struct {
	DishNo     span
	Name       span
	Price      span
	Unit       span
	Count      span
	Discount   span
	Category   span
	Priority   span
	Properties obj[propertiesJSON]
}

func (d *dishJSON) member(name []byte) json.UnmarshalerFrom {
	switch string(name) {
	case "dish_no":
		return &d.DishNo
	case "name":
		return &d.Name
	case "price":
		return &d.Price
	case "unit":
		return &d.Unit
	case "count":
		return &d.Count
	case "discount":
		return &d.Discount
	case "category":
		return &d.Category
	case "priority":
		return &d.Priority
	case "properties":
		return &d.Properties
	}
	return nil
}

// propertiesJSON holds taste, cuisine, main_material, ingredients and
// others, in the order they are sent (propertyKeys).
type propertiesJSON struct {
	Taste        prop
	Cuisine      prop
	MainMaterial prop
	Ingredients  prop
	Others       prop
}

func (p *propertiesJSON) member(name []byte) json.UnmarshalerFrom {
	switch string(name) {
	case "taste":
		return &p.Taste
	case "cuisine":
		return &p.Cuisine
	case "main_material":
		return &p.MainMaterial
	case "ingredients":
		return &p.Ingredients
	case "others":
		return &p.Others
	}
	return nil
}

func (p *propertiesJSON) all() [5]*prop {
	return [5]*prop{&p.Taste, &p.Cuisine, &p.MainMaterial, &p.Ingredients, &p.Others}
}

type paymentJSON struct {
	TransactionID span
	OutTradeNo    span
	PaidAt        span
}

func (p *paymentJSON) member(name []byte) json.UnmarshalerFrom {
	switch string(name) {
	case "transaction_id":
		return &p.TransactionID
	case "out_trade_no":
		return &p.OutTradeNo
	case "paid_at":
		return &p.PaidAt
	}
	return nil
}

// obj is a member that must be an object: V is decoded when it is one,
// Kind says what was found (0 when absent). *T implements members.
type obj[T any] struct {
	Kind jsontext.Kind
	V    T
}

// UnmarshalJSONFrom decodes an object into V and skips any other value.
func (o *obj[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	o.Kind = dec.PeekKind()
	if o.Kind == '{' {
		return decodeMembers(dec, any(&o.V).(members))
	}
	return dec.SkipValue()
}

// present reports whether the member was given and not null.
func (o *obj[T]) present() bool { return o.Kind != 0 && o.Kind != 'n' }

// dishList is order.dishes, which must be an array, like obj. Decoding
// appends to V, so a V emptied for reuse keeps its memory.
type dishList struct {
	Kind jsontext.Kind
	V    []obj[dishJSON]
}

// UnmarshalJSONFrom decodes an array into V and skips any other value.
func (l *dishList) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	l.Kind = dec.PeekKind()
	if l.Kind != '[' {
		return dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != ']' {
		l.V = append(l.V, obj[dishJSON]{})
		if err := l.V[len(l.V)-1].UnmarshalJSONFrom(dec); err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
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

// decode parses value into sc.top, or returns the violation that makes it
// unacceptable JSON: invalid syntax, invalid UTF-8, a duplicate name (the
// decoder's defaults reject both) or more than maxDepth levels of nesting.
func decode(value []byte, sc *scratch) *Violation {
	// Nesting cannot exceed the number of '{' and '[' bytes; only then is a
	// token-by-token check needed before decoding.
	if bytes.Count(value, []byte("{"))+bytes.Count(value, []byte("[")) > maxDepth {
		if v := sc.checkSyntax(value); v != nil {
			return v
		}
	}
	if err := json.Unmarshal(value, &sc.top); err != nil {
		if v := sc.checkSyntax(value); v != nil {
			return v
		}
		return &Violation{Reason: "invalid JSON: " + err.Error()}
	}
	return nil
}

// checkSyntax reads value token by token and describes its first fault, or
// returns nil. Field is a pointer to the value at fault. It reads value in
// place with the scratch's decoder, which lets go of value when done and is
// kept only after values of up to maxPooledChecked bytes.
func (sc *scratch) checkSyntax(value []byte) *Violation {
	if sc.dec == nil {
		sc.dec = jsontext.NewDecoder(&sc.in)
	}
	sc.in = *bytes.NewBuffer(value)
	sc.dec.Reset(&sc.in)
	defer func() {
		sc.in = bytes.Buffer{}
		sc.dec.Reset(&sc.in)
		if len(value) > maxPooledChecked {
			sc.dec = nil
		}
	}()
	dec := sc.dec
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
