package mapper

import "math"

// maxSig is how many significant digits a decimal keeps; more than any
// accepted value needs (int64 has 19, count at most 15).
const maxSig = 20

// decimal is the exact value of a JSON number: ±digits × 10^exp, with no
// leading or trailing zeros in digits (zero has nd == 0).
type decimal struct {
	neg    bool
	digits [maxSig]byte
	nd     int // significant digits; may exceed maxSig (only the first maxSig are kept)
	exp    int
}

// expLimit saturates exponents so hostile ones cannot overflow.
const expLimit = 1 << 30

// parseDecimal reads a number that already passed the JSON grammar.
func parseDecimal(s []byte) decimal {
	var d decimal
	i := 0
	if s[0] == '-' {
		d.neg = true
		i = 1
	}
	// The mantissa digits, '.' skipped, form the sequence D; value = D × 10^(e - frac).
	first, last, count, frac := -1, -1, 0, 0
	inFrac := false
	j := i
	for ; j < len(s); j++ {
		c := s[j]
		if c == '.' {
			inFrac = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if c != '0' {
			if first < 0 {
				first = count
			}
			last = count
		}
		if inFrac {
			frac++
		}
		count++
	}
	e := 0
	if j < len(s) { // exponent
		j++
		eneg := false
		if s[j] == '+' || s[j] == '-' {
			eneg = s[j] == '-'
			j++
		}
		for ; j < len(s); j++ {
			if e < expLimit {
				e = e*10 + int(s[j]-'0')
			}
		}
		if eneg {
			e = -e
		}
	}
	if first < 0 {
		d.neg = false
		return d
	}
	d.nd = last - first + 1
	d.exp = e - frac + (count - 1 - last)
	k := 0
	for j, n := i, 0; j < len(s) && k < maxSig && n <= last; j++ {
		c := s[j]
		if c == '.' {
			continue
		}
		if n >= first {
			d.digits[k] = c
			k++
		}
		n++
	}
	return d
}

// intReason describes why d is not an int64, or returns "" and the value.
func (d *decimal) int64() (int64, string) {
	if d.nd == 0 {
		return 0, ""
	}
	if d.exp < 0 {
		return 0, "must be an integer, got a fraction"
	}
	if d.nd+d.exp > 19 {
		return 0, "is outside the 64-bit integer range"
	}
	var u uint64
	for _, c := range d.digits[:d.nd] {
		u = u*10 + uint64(c-'0')
	}
	for range d.exp {
		u *= 10
	}
	switch {
	case !d.neg && u <= math.MaxInt64:
		return int64(u), ""
	case d.neg && u <= 1<<63:
		return int64(-u), ""
	}
	return 0, "is outside the 64-bit integer range"
}

// countMaxDigits bounds the digits of a count.
const countMaxDigits = 15

// count returns the normalised text of a count (appended to dst) or why d is
// not a valid count.
func (d *decimal) count(dst []byte) ([]byte, string) {
	switch {
	case d.nd == 0 || d.neg:
		return dst, "must be greater than 0"
	case d.exp < -2:
		return dst, "must have at most 2 decimal places"
	}
	intDigits := d.nd + d.exp
	total := max(intDigits, d.nd, -d.exp)
	if total > countMaxDigits {
		return dst, "must have at most 15 digits"
	}
	switch {
	case d.exp >= 0:
		dst = append(dst, d.digits[:d.nd]...)
		for range d.exp {
			dst = append(dst, '0')
		}
	case intDigits > 0:
		dst = append(dst, d.digits[:intDigits]...)
		dst = append(dst, '.')
		dst = append(dst, d.digits[intDigits:d.nd]...)
	default:
		dst = append(dst, '0', '.')
		for range -intDigits {
			dst = append(dst, '0')
		}
		dst = append(dst, d.digits[:d.nd]...)
	}
	return dst, ""
}
