package mapper

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendString appends s (valid UTF-8) as a JSON string: quotes, backslashes
// and control characters escaped, U+2028/U+2029 escaped as encoding/json
// does, no HTML escaping.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// verbatim marks the bytes appendEscaped copies as they are without a
// closer look: all but control characters, '"', '\\' and 0xE2 (the lead
// byte of U+2028 and U+2029).
var verbatim = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\' && c != 0xe2
	}
	return t
}()

// appendEscaped appends the JSON-escaped content of s, without quotes.
func appendEscaped(dst, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if verbatim[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			// U+2028 and U+2029 are E2 80 A8 and E2 80 A9; other bytes of
			// multi-byte characters are copied as they are.
			if c != 0xe2 || i+2 >= len(s) || s[i+1] != 0x80 || (s[i+2] != 0xa8 && s[i+2] != 0xa9) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[s[i+2]-0xa0])
			i += 3
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(dst, s[start:]...)
}

// appendField appends "name":"value", preceded by a comma unless it is the
// first member.
func appendField(dst []byte, name string, v []byte) []byte {
	dst = appendName(dst, name)
	return appendString(dst, v)
}

func appendName(dst []byte, name string) []byte {
	if c := dst[len(dst)-1]; c != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

// appendInt appends ,"name":v for a non-negative v.
func appendInt(dst []byte, name string, v int64) []byte {
	dst = appendName(dst, name)
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// encode appends the sync-status body of a validated payload to b.
func (r *run) encode(b []byte, p *payload) []byte {
	b = append(b, '{')
	if r.mode == ModeServiceProvider {
		b = appendField(b, "sp_mchid", p.spMchID)
		b = appendField(b, "sp_appid", p.spAppID)
	} else {
		b = appendField(b, "channel_id", p.channelID)
	}
	b = appendField(b, "sub_mchid", p.subMchID)
	if p.hasSubAppID {
		b = appendField(b, "sub_appid", p.subAppID)
	}
	b = appendField(b, "out_shop_no", p.shopNo)
	if p.hasOpenID {
		b = appendField(b, "openid", p.openID)
	}
	if p.hasSubOpenID {
		b = appendField(b, "sub_openid", p.subOpenID)
	}
	b = appendField(b, "login_token", p.loginToken)
	b = appendField(b, "order_entry", p.entry)
	b = appendInt(b, "total_amount", p.total)
	b = appendInt(b, "discount_amount", p.discount)
	b = appendInt(b, "user_amount", p.user)
	b = appendName(b, "status")
	b = append(b, '"')
	b = append(b, p.status...)
	b = append(b, '"')
	b = appendName(b, "action_time")
	b = append(b, '"')
	b = appendBeijing(b, p.actionTime)
	b = append(b, '"')
	if p.status == StatusPaySuccess {
		b = appendName(b, "pay_time")
		b = append(b, '"')
		b = appendBeijing(b, p.payTime)
		b = append(b, '"')
		b = appendField(b, "transaction_id", p.transactionID)
		b = appendField(b, "out_trade_no", p.outTradeNo)
	}
	b = appendField(b, "out_order_no", p.orderNo)
	if p.tableNo != nil {
		b = appendField(b, "out_table_no", p.tableNo)
	}
	if p.hasPeople {
		b = appendInt(b, "people_count", p.people)
	}
	b = appendName(b, "dish_list")
	b = append(b, '[')
	for k := range p.dishes {
		if k > 0 {
			b = append(b, ',')
		}
		b = r.appendDish(b, &p.dishes[k])
	}
	return append(b, ']', '}')
}

func (r *run) appendDish(b []byte, d *dish) []byte {
	b = append(b, '{')
	b = appendField(b, "out_dish_no", d.no)
	b = appendField(b, "name", d.name)
	b = appendInt(b, "price", d.price)
	b = appendField(b, "unit", d.unit)
	b = appendName(b, "count")
	b = append(b, d.count[:d.countLen]...)
	if d.hasDiscount {
		b = appendInt(b, "discount", d.discount)
	}
	if d.category != nil {
		b = appendField(b, "type", d.category)
	}
	if d.hasPriority {
		b = appendInt(b, "priority", d.priority)
	}
	if d.props != nil {
		b = appendName(b, "properties")
		b = append(b, '{')
		for j, pr := range d.props.all() {
			if pr.present() {
				b = appendName(b, propertyKeys[j])
				b = r.appendJoined(b, pr)
			}
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendJoined appends a properties value: a string as is, an array's
// strings joined with " | ".
func (r *run) appendJoined(b []byte, v *prop) []byte {
	if v.Kind == '"' {
		return appendString(b, unquote(r.v(v.Value)))
	}
	b = append(b, '"')
	for j := range v.n {
		if j > 0 {
			b = append(b, separator...)
		}
		b = appendEscaped(b, unquote(r.v(v.elem(j))))
	}
	return append(b, '"')
}
