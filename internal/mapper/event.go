package mapper

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// path is a JSON pointer built only when a violation needs it: s1, then i1
// and s2 when i1 ≥ 0, then "/" i2 when i2 ≥ 0. Unless abs, it is relative to
// the order event (inside "/data" for a CloudEvents structured envelope).
type path struct {
	abs bool
	s1  string
	i1  int
	s2  string
	i2  int
}

func rel(s string) path { return path{s1: s, i1: -1, i2: -1} }
func abs(s string) path { return path{abs: true, s1: s, i1: -1, i2: -1} }

func dishPath(i int, s string) path {
	return path{s1: "/order/dishes/", i1: i, s2: s, i2: -1}
}

// elem is the pointer to element j of the array at p.
func (p path) elem(j int) path {
	p.i2 = j
	return p
}

// run is the state of one Map call.
type run struct {
	m     *Mapper
	in    []byte   // the message value
	mode  Mode     // the event's account's mode (Config.Accounts), else the Mapper's
	acct  *Account // the event's account, nil without Config.Accounts
	sc    *scratch
	base  string
	vs    []Violation
	extra int // violations beyond maxViolations
}

func (r *run) add(field, reason string) {
	if len(r.vs) >= maxViolations {
		r.extra++
		return
	}
	r.vs = append(r.vs, Violation{Field: field, Reason: reason})
}

func (r *run) ptr(p path) string {
	s := p.s1
	if !p.abs {
		s = r.base + s
	}
	if p.i1 >= 0 {
		s += strconv.Itoa(p.i1) + p.s2
	}
	if p.i2 >= 0 {
		s += "/" + strconv.Itoa(p.i2)
	}
	return s
}

func (r *run) bad(p path, reason string) { r.add(r.ptr(p), reason) }

// v returns the text of the member at s.
func (r *run) v(s span) jsontext.Value { return r.in[s.lo:s.hi] }

// peek returns the string v, or nil when v is absent or not a string.
func peek(v jsontext.Value) []byte {
	if v.Kind() != '"' {
		return nil
	}
	return unquote(v)
}

// textReason reports why valid UTF-8 s cannot be sent as a string of at most
// max characters, or "".
func textReason(s []byte, max int) string { return checkText(s, max, false) }

// checkText is textReason, letting 4-byte characters pass for strings that
// are never sent (event_id).
func checkText(s []byte, max int, allow4 bool) string {
	if len(s) == 0 {
		return "must not be empty"
	}
	n := 0
	for _, c := range s {
		if c&0xc0 != 0x80 {
			n++
		}
		if c >= 0xf0 && !allow4 {
			return reason4Byte
		}
	}
	if n > max {
		return fmt.Sprintf("must be at most %d characters, got %d", max, n)
	}
	return ""
}

// text checks the string member v and returns it, or nil when it is absent
// or broken (after recording why).
func (r *run) text(v jsontext.Value, p path, max int, required bool) []byte {
	if !given(v) {
		if required {
			r.bad(p, "is required")
		}
		return nil
	}
	if v.Kind() != '"' {
		r.bad(p, "must be a string")
		return nil
	}
	s := unquote(v)
	if reason := textReason(s, max); reason != "" {
		r.bad(p, reason)
		return nil
	}
	return s
}

// integer checks the integer member v.
func (r *run) integer(v jsontext.Value, p path, required bool) (int64, bool) {
	if !given(v) {
		if required {
			r.bad(p, "is required")
		}
		return 0, false
	}
	if v.Kind() != '0' {
		r.bad(p, "must be an integer")
		return 0, false
	}
	d := parseDecimal(v)
	n, reason := d.int64()
	if reason != "" {
		r.bad(p, reason)
		return 0, false
	}
	return n, true
}

// inRange checks an integer against [lo, hi].
func (r *run) inRange(v int64, ok bool, p path, lo, hi int64, what string) bool {
	if ok && (v < lo || v > hi) {
		r.bad(p, what)
		return false
	}
	return ok
}

const reasonTime = "must be an RFC 3339 date-time with an offset, such as 2026-11-26T12:30:05+08:00"

func (r *run) timeOf(s []byte, p path) (time.Time, bool) {
	t, ok := parseRFC3339(s)
	switch {
	case !ok:
		r.bad(p, reasonTime)
	case !sendable(t):
		r.bad(p, "is outside the years 0001-9999 in +08:00")
		ok = false
	}
	return t, ok
}

// source is where an event attribute (event_id, event_type, occurred_at) was
// found: the order event, a CloudEvents attribute or a ce_* header.
type source struct {
	v     jsontext.Value // the member, nil when absent or from a header
	hdr   []byte
	fromH bool
	p     path
}

// value returns the source's string, checked against max characters. These
// strings are not sent as such, so 4-byte characters are let through (an
// event type or time holding one fails its own check anyway).
func (r *run) value(s source, max int) ([]byte, bool) {
	v := s.hdr
	switch {
	case !s.fromH && !given(s.v):
		r.bad(s.p, "is required")
		return nil, false
	case !s.fromH && s.v.Kind() != '"':
		r.bad(s.p, "must be a string")
		return nil, false
	case !s.fromH:
		v = unquote(s.v)
	case !utf8.Valid(v):
		r.bad(s.p, "is not valid UTF-8")
		return nil, false
	}
	if reason := checkText(v, max, true); reason != "" {
		r.bad(s.p, reason)
		return nil, false
	}
	return v, true
}

// peekSource returns the source's string without checking it, or nil.
func (r *run) peekSource(s source) []byte {
	if s.fromH {
		return s.hdr
	}
	return peek(s.v)
}

// maxTypeLen bounds an event type.
const maxTypeLen = 128

// ceHeaders are the CloudEvents binary-mode headers of a record (the first
// occurrence of each).
type ceHeaders struct {
	binary                bool
	specversion, id, typ  []byte
	time                  []byte
	hasID, hasTyp, hasTim bool
}

func readHeaders(hs []Header) ceHeaders {
	var h ceHeaders
	for i := len(hs) - 1; i >= 0; i-- {
		switch hs[i].Key {
		case "ce_specversion":
			h.binary, h.specversion = true, hs[i].Value
		case "ce_id":
			h.hasID, h.id = true, hs[i].Value
		case "ce_type":
			h.hasTyp, h.typ = true, hs[i].Value
		case "ce_time":
			h.hasTim, h.time = true, hs[i].Value
		}
	}
	return h
}

// Map decodes, maps and validates one message value. It returns a Result
// with Body set, a skipped Result, or a *InvalidEventError listing every
// violation (the Result then carries what identification could be read).
// Safe for concurrent use, pure: no I/O, no logger, no ctx.
func (m *Mapper) Map(value []byte, headers []Header) (Result, error) {
	r := run{m: m, in: value, mode: m.mode}
	h := readHeaders(headers)
	if len(value) > m.maxBytes {
		r.add("", fmt.Sprintf("value is %d bytes, more than the %d allowed", len(value), m.maxBytes))
		return r.invalid(Result{EventID: string(cutID(h.id))})
	}
	r.sc = getScratch()
	defer r.sc.put()
	top := &r.sc.top
	if v := decode(value, r.sc); v != nil {
		r.add(v.Field, v.Reason)
		return r.invalid(Result{EventID: string(cutID(h.id))})
	}
	if top.Kind != '{' {
		r.add("", "must be a JSON object")
		return r.invalid(Result{EventID: string(cutID(h.id))})
	}

	env := &top.V
	ev := &env.Event
	id := source{p: rel("/event_id")}
	typ := source{p: rel("/event_type")}
	tim := source{p: rel("/occurred_at")}
	switch {
	case h.binary:
		if string(h.specversion) != "1.0" {
			r.add("ce_specversion", `must be "1.0"`)
		}
		if h.hasID {
			id = source{fromH: true, hdr: h.id, p: abs("ce_id")}
		}
		if h.hasTyp {
			typ = source{fromH: true, hdr: h.typ, p: abs("ce_type")}
		}
		if h.hasTim {
			tim = source{fromH: true, hdr: h.time, p: abs("ce_time")}
		}
	case given(r.v(env.SpecVersion)):
		r.base = "/data"
		if string(peek(r.v(env.SpecVersion))) != "1.0" {
			r.bad(abs("/specversion"), `must be "1.0"`)
		}
		if ct := r.v(env.DataContentType); given(ct) && !isJSONType(peek(ct)) {
			r.bad(abs("/datacontenttype"), "must be a JSON media type such as application/json")
		}
		if given(r.v(env.DataBase64)) {
			r.bad(abs("/data_base64"), "is not supported: the order event must be JSON in data")
		}
		ev = &env.Data.V
		switch {
		case !env.Data.present():
			r.bad(abs("/data"), "is required")
			ev = nil
		case env.Data.Kind != '{':
			r.bad(abs("/data"), "must be a JSON object")
			ev = nil
		}
		if given(r.v(env.ID)) {
			id = source{v: r.v(env.ID), p: abs("/id")}
		}
		if given(r.v(env.Type)) {
			typ = source{v: r.v(env.Type), p: abs("/type")}
		}
		if given(r.v(env.Time)) {
			tim = source{v: r.v(env.Time), p: abs("/time")}
		}
	}
	if ev != nil {
		if given(r.v(ev.EventID)) {
			id = source{v: r.v(ev.EventID), p: rel("/event_id")}
		}
		if given(r.v(ev.EventType)) {
			typ = source{v: r.v(ev.EventType), p: rel("/event_type")}
		}
		if given(r.v(ev.OccurredAt)) {
			tim = source{v: r.v(ev.OccurredAt), p: rel("/occurred_at")}
		}
	}

	res := Result{EventType: eventType(r.peekSource(typ))}
	eventID := cutID(r.peekSource(id))
	var orderNo []byte
	if ev != nil && ev.Order.Kind == '{' {
		orderNo = cutID(peek(r.v(ev.Order.V.OrderNo)))
	}
	if ev == nil {
		setIDs(&res, eventID, orderNo, nil, nil)
		return r.invalid(res)
	}
	if len(r.vs) == 0 {
		if t := r.peekSource(typ); t != nil && m.skips(t) {
			res.Skipped = true
			setIDs(&res, eventID, orderNo, nil, nil)
			res.SkipReason = fmt.Sprintf("event type %s is in the skip list", quote(string(t)))
			return res, nil
		}
	}

	var p payload
	r.value(id, maxEventID)
	if t, ok := r.value(typ, maxTypeLen); ok {
		switch string(t) {
		case TypeCreated:
			p.status = StatusCreateDeal
		case TypeUpdated:
			// An order changed after it was paid carries its payment: sent as
			// CREATE_DEAL it would take the paid order back.
			p.status = StatusCreateDeal
			if ev.Payment.present() {
				p.status = StatusPaySuccess
			}
		case TypePaid:
			p.status = StatusPaySuccess
		default:
			r.bad(typ.p, fmt.Sprintf("unknown event type %s: want %s, %s, %s or a type in the skip list",
				quote(string(t)), TypeCreated, TypeUpdated, TypePaid))
		}
	}
	if t, ok := r.value(tim, 64); ok {
		p.actionTime, _ = r.timeOf(t, tim.p)
	}
	r.merchant(&ev.Merchant, &p)
	res.Account = r.acct
	r.customer(&ev.Customer, &p)
	r.order(&ev.Order, &p)
	if p.status == StatusPaySuccess {
		r.payment(&ev.Payment, &p)
	}
	r.modeRules(&p)
	if len(r.vs) > 0 {
		setIDs(&res, eventID, orderNo, p.subMchID, nil)
		return r.invalid(res)
	}
	res.Status = p.status
	res.OccurredAt = p.actionTime
	res.UserAmount = p.user
	var transactionID []byte
	if p.status == StatusPaySuccess {
		transactionID = p.transactionID
	}
	setIDs(&res, eventID, orderNo, p.subMchID, transactionID)
	r.sc.body = r.encode(r.sc.body[:0], &p)
	res.Body = bytes.Clone(r.sc.body)
	return res, nil
}

// setIDs sets the identifying strings of res, with one allocation for all
// of them.
func setIDs(res *Result, eventID, orderNo, subMchID, transactionID []byte) {
	var b strings.Builder
	b.Grow(len(eventID) + len(orderNo) + len(subMchID) + len(transactionID))
	b.Write(eventID)
	b.Write(orderNo)
	b.Write(subMchID)
	b.Write(transactionID)
	s := b.String()
	res.EventID, s = s[:len(eventID)], s[len(eventID):]
	res.OrderNo, s = s[:len(orderNo)], s[len(orderNo):]
	res.SubMchID, res.TransactionID = s[:len(subMchID)], s[len(subMchID):]
}

// invalid returns res with the violations collected so far as an error.
func (r *run) invalid(res Result) (Result, error) {
	vs := r.vs
	if r.extra > 0 {
		vs = append(vs, Violation{Reason: fmt.Sprintf("%d more violations not listed", r.extra)})
	}
	return res, &InvalidEventError{EventID: res.EventID, OrderNo: res.OrderNo, Violations: vs}
}

func (m *Mapper) skips(t []byte) bool {
	for _, s := range m.skip {
		if string(t) == s {
			return true
		}
	}
	return false
}

// eventType returns t as a string, without allocating for the mapped types.
func eventType(t []byte) string {
	switch string(t) {
	case TypeCreated:
		return TypeCreated
	case TypeUpdated:
		return TypeUpdated
	case TypePaid:
		return TypePaid
	}
	return string(cutID(t))
}

func isJSONType(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.ToLower(bytes.TrimSpace(ct))
	return bytes.Equal(ct, []byte("application/json")) || bytes.Equal(ct, []byte("text/json")) ||
		bytes.HasSuffix(ct, []byte("+json"))
}

// payload is a validated sync-status body.
type payload struct {
	spMchID, spAppID, channelID, subMchID, subAppID, shopNo []byte
	openID, subOpenID, loginToken                           []byte
	hasOpenID, hasSubOpenID, hasSubAppID                    bool
	hasMerchant, hasCustomer                                bool
	orderNo, entry, tableNo                                 []byte
	people                                                  int64
	hasPeople                                               bool
	total, discount, user                                   int64
	status                                                  string
	actionTime, payTime                                     time.Time
	transactionID, outTradeNo                               []byte
	dishes                                                  []dish
}

// dish is a validated dish_list item.
type dish struct {
	no, name, unit, category  []byte
	price, discount, priority int64
	hasDiscount, hasPriority  bool
	count                     [countMaxDigits + 2]byte
	countLen                  int
	props                     *propertiesJSON // nil when absent
}

// object reports whether kind k (0 when absent) is an object, recording a
// violation at p when it is absent (and required) or not an object.
func (r *run) object(k jsontext.Kind, p path, required bool) bool {
	switch {
	case k == 0 || k == 'n':
		if required {
			r.bad(p, "is required")
		}
		return false
	case k != '{':
		r.bad(p, "must be an object")
		return false
	}
	return true
}

func (r *run) merchant(o *obj[merchantJSON], p *payload) {
	if !r.object(o.Kind, rel("/merchant"), true) {
		return
	}
	p.hasMerchant = true
	f := &o.V
	p.subMchID = r.text(r.v(f.SubMchID), rel("/merchant/sub_mchid"), maxID, true)
	mchID, spAppID, channelID := r.m.mchID, r.m.spAppID, r.m.channelID
	if r.m.accounts != nil && p.subMchID != nil {
		a, ok := r.m.accounts.Account(string(p.subMchID))
		if !ok {
			r.bad(rel("/merchant/sub_mchid"), "is not in the merchant registry, which has no default_account")
		} else {
			r.acct, r.mode = &a, a.Mode
			mchID, spAppID, channelID = []byte(a.MchID), []byte(a.SpAppID), []byte(a.ChannelID)
			r.sameAsAccount(r.v(f.SpMchID), rel("/merchant/sp_mchid"), "sp_mchid", a.Mode == ModeServiceProvider, a.MchID)
			r.sameAsAccount(r.v(f.ChannelID), rel("/merchant/channel_id"), "channel_id", a.Mode == ModeChannel, a.ChannelID)
		}
	}
	switch {
	case r.m.accounts != nil && r.acct == nil:
		// No account: its ids are unknown, the one violation above says why.
	case r.mode == ModeServiceProvider:
		p.spMchID = r.override(r.v(f.SpMchID), rel("/merchant/sp_mchid"), mchID)
		p.spAppID = r.override(r.v(f.SpAppID), rel("/merchant/sp_appid"), spAppID)
	default:
		p.channelID = r.override(r.v(f.ChannelID), rel("/merchant/channel_id"), channelID)
	}
	p.hasSubAppID = given(r.v(f.SubAppID))
	p.subAppID = r.text(r.v(f.SubAppID), rel("/merchant/sub_appid"), maxID, r.mode == ModeChannel)
	p.shopNo = r.text(r.v(f.ShopNo), rel("/merchant/shop_no"), maxID, true)
}

// sameAsAccount records a violation when the event names its own sp_mchid
// or channel_id (v) and it is not its account's: the account decides who
// reports the sub-merchant. An id of the other mode is ignored, as without
// a registry.
func (r *run) sameAsAccount(v jsontext.Value, p path, name string, used bool, want string) {
	if !used || r.acct.Overridable || v.Kind() != '"' {
		return
	}
	if got := unquote(v); string(got) != want {
		r.bad(p, fmt.Sprintf("%s %s differs from %s of merchant account %s, which the merchant registry assigns this sub-merchant to",
			quote(string(got)), name, quote(want), r.acct.Name))
	}
}

// override returns the event's value v, or the configured default.
func (r *run) override(v jsontext.Value, p path, def []byte) []byte {
	if !given(v) && len(def) > 0 {
		return def
	}
	if !given(v) {
		r.bad(p, "is required: the deployment configures no default")
		return nil
	}
	return r.text(v, p, maxID, true)
}

func (r *run) customer(o *obj[customerJSON], p *payload) {
	if !r.object(o.Kind, rel("/customer"), true) {
		return
	}
	p.hasCustomer = true
	f := &o.V
	p.hasOpenID, p.hasSubOpenID = given(r.v(f.OpenID)), given(r.v(f.SubOpenID))
	p.openID = r.text(r.v(f.OpenID), rel("/customer/openid"), maxID, false)
	p.subOpenID = r.text(r.v(f.SubOpenID), rel("/customer/sub_openid"), maxID, false)
	p.loginToken = r.text(r.v(f.LoginToken), rel("/customer/login_token"), maxLoginToken, true)
}

// modeRules checks the conditional identity rules of the mode.
func (r *run) modeRules(p *payload) {
	if !p.hasCustomer {
		return
	}
	switch r.mode {
	case ModeServiceProvider:
		switch {
		case p.hasOpenID && p.hasSubOpenID:
			r.bad(rel("/customer/sub_openid"), "must not be sent together with openid: send exactly one")
		case !p.hasOpenID && !p.hasSubOpenID:
			r.bad(rel("/customer/sub_openid"), "is required: send exactly one of openid and sub_openid")
		case p.hasSubOpenID && p.hasMerchant && !p.hasSubAppID:
			r.bad(rel("/merchant/sub_appid"), "is required when sub_openid is used")
		}
	case ModeChannel:
		if p.hasOpenID {
			r.bad(rel("/customer/openid"), "is not allowed in channel mode: send sub_openid")
		}
		if !p.hasSubOpenID {
			r.bad(rel("/customer/sub_openid"), "is required in channel mode")
		}
	}
}

func (r *run) order(o *obj[orderJSON], p *payload) {
	if !r.object(o.Kind, rel("/order"), true) {
		return
	}
	f := &o.V
	p.orderNo = r.text(r.v(f.OrderNo), rel("/order/order_no"), maxPayID, true)
	p.entry = r.text(r.v(f.Entry), rel("/order/entry"), maxEntry, true)
	p.tableNo = r.text(r.v(f.TableNo), rel("/order/table_no"), maxTableNo, false)
	v, ok := r.integer(r.v(f.PeopleCount), rel("/order/people_count"), false)
	p.people, p.hasPeople = v, r.inRange(v, ok, rel("/order/people_count"), 1, 1<<63-1, "must be at least 1")
	var okT, okD, okU bool
	p.total, okT = r.integer(r.v(f.TotalAmount), rel("/order/total_amount"), true)
	okT = r.inRange(p.total, okT, rel("/order/total_amount"), 0, 1<<63-1, "must not be negative")
	p.discount, okD = r.integer(r.v(f.DiscountAmount), rel("/order/discount_amount"), true)
	okD = r.inRange(p.discount, okD, rel("/order/discount_amount"), 0, 1<<63-1, "must not be negative")
	p.user, okU = r.integer(r.v(f.UserAmount), rel("/order/user_amount"), true)
	okU = r.inRange(p.user, okU, rel("/order/user_amount"), 0, 1<<63-1, "must not be negative")
	if okT && okD && p.discount > p.total {
		r.bad(rel("/order/discount_amount"), "must not exceed total_amount")
	}
	if okT && okU && p.user > p.total {
		r.bad(rel("/order/user_amount"), "must not exceed total_amount")
	}
	r.dishes(&f.Dishes, p)
}

func (r *run) dishes(l *dishList, p *payload) {
	pd := rel("/order/dishes")
	switch {
	case l.Kind == 0 || l.Kind == 'n':
		r.bad(pd, "is required")
		return
	case l.Kind != '[':
		r.bad(pd, "must be an array")
		return
	case len(l.V) == 0:
		r.bad(pd, "must have at least one dish")
		return
	}
	p.dishes = slices.Grow(r.sc.dishes[:0], len(l.V))[:len(l.V)]
	clear(p.dishes)
	r.sc.dishes = p.dishes
	for k := range l.V {
		r.dish(&l.V[k], k, &p.dishes[k])
	}
}

func (r *run) dish(o *obj[dishJSON], k int, d *dish) {
	if o.Kind != '{' {
		r.bad(dishPath(k, ""), "must be an object")
		return
	}
	f := &o.V
	d.no = r.text(r.v(f.DishNo), dishPath(k, "/dish_no"), maxDishNo, true)
	d.name = r.text(r.v(f.Name), dishPath(k, "/name"), maxDishName, true)
	var ok bool
	d.price, ok = r.integer(r.v(f.Price), dishPath(k, "/price"), true)
	r.inRange(d.price, ok, dishPath(k, "/price"), 0, 1<<63-1, "must not be negative")
	if u := r.text(r.v(f.Unit), dishPath(k, "/unit"), 16, true); u != nil {
		if oneOf(u, units) {
			d.unit = u
		} else {
			r.bad(dishPath(k, "/unit"), fmt.Sprintf("unit %s must be BY_SHARE or BY_WEIGHT", quote(string(u))))
		}
	}
	r.count(r.v(f.Count), dishPath(k, "/count"), d)
	d.discount, ok = r.integer(r.v(f.Discount), dishPath(k, "/discount"), false)
	d.hasDiscount = r.inRange(d.discount, ok, dishPath(k, "/discount"), 1, 100, "must be between 1 and 100 (percent)")
	if c := r.text(r.v(f.Category), dishPath(k, "/category"), 32, false); c != nil {
		switch {
		case oneOf(c, categories):
			d.category = c
		case string(c) == "GUANGDONG_CUISINE":
			r.bad(dishPath(k, "/category"), `category "GUANGDONG_CUISINE" is not in the documented list: the API spells it GUAGNDONG_CUISINE`)
		default:
			r.bad(dishPath(k, "/category"), fmt.Sprintf("category %s is not in the documented list", quote(string(c))))
		}
	}
	d.priority, ok = r.integer(r.v(f.Priority), dishPath(k, "/priority"), false)
	d.hasPriority = r.inRange(d.priority, ok, dishPath(k, "/priority"), 1, 100, "must be between 1 and 100")
	if r.object(f.Properties.Kind, dishPath(k, "/properties"), false) {
		d.props = &f.Properties.V
		for j, pr := range d.props.all() {
			r.property(pr, dishPath(k, propertyPaths[j]), j < 4)
		}
	}
}

func (r *run) count(v jsontext.Value, p path, d *dish) {
	if !given(v) {
		r.bad(p, "is required")
		return
	}
	if v.Kind() != '0' {
		r.bad(p, "must be a number")
		return
	}
	dec := parseDecimal(v)
	out, reason := dec.count(d.count[:0])
	if reason != "" {
		r.bad(p, reason)
		return
	}
	d.countLen = len(out)
}

// property checks one properties value: a string, or an array of strings
// joined with " | ", at most 128 characters either way.
func (r *run) property(v *prop, p path, required bool) {
	switch {
	case !v.present():
		if required {
			r.bad(p, "is required when properties is present")
		}
		return
	case v.Kind == '"':
		r.text(r.v(v.Value), p, maxProperty, true)
		return
	case v.Kind != '[':
		r.bad(p, "must be a string or an array of strings")
		return
	}
	total, ok := 0, true
	for j := range v.n {
		e := r.v(v.elem(j))
		if j > 0 {
			total += len(separator)
		}
		if e.Kind() != '"' {
			r.bad(p.elem(j), "must be a string")
			ok = false
			continue
		}
		s := r.text(e, p.elem(j), 1<<30, true)
		if s == nil {
			ok = false
		}
		total += runes(s)
	}
	switch {
	case v.n == 0:
		r.bad(p, "must not be empty")
	case ok && total > maxProperty:
		r.bad(p, fmt.Sprintf("must be at most %d characters once joined with %q, got %d", maxProperty, separator, total))
	}
}

const separator = " | "

func (r *run) payment(o *obj[paymentJSON], p *payload) {
	switch {
	case !o.present():
		r.bad(rel("/payment"), "is required for order.paid")
		return
	case o.Kind != '{':
		r.bad(rel("/payment"), "must be an object")
		return
	}
	f := &o.V
	p.transactionID = r.text(r.v(f.TransactionID), rel("/payment/transaction_id"), maxPayID, true)
	p.outTradeNo = r.text(r.v(f.OutTradeNo), rel("/payment/out_trade_no"), maxPayID, true)
	if t := r.text(r.v(f.PaidAt), rel("/payment/paid_at"), 64, true); t != nil {
		p.payTime, _ = r.timeOf(t, rel("/payment/paid_at"))
	}
}
