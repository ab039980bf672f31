package mapping

import (
	"encoding/json"
	"errors"
	"math/big"
	"strconv"
	"strings"
)

// fenError is the error value fen yields; it names no input text.
type fenError struct{ reason string }

func (e *fenError) Error() string { return "fen: " + e.reason }

// maxFenDigits bounds the digits fen reads, so that a hostile exponent
// cannot make it build a huge number.
const maxFenDigits = 40

// fen is the program's yuan → fen function: `"12.34" | fen` is 1234,
// exactly. Its input is a decimal string ("12", "12.3", "-0.05"; no
// exponent, no spaces) or a number. A number the program has not computed
// with keeps its JSON text (12.34, 1.234e1); one it computed is a float,
// read as the shortest decimal that is that float. More than two decimal
// places (12.345) is an error, never a rounding.
func fen(v any, _ []any) any {
	var text string
	switch x := v.(type) {
	case string:
		if strings.ContainsAny(x, "eE") {
			return &fenError{"want a decimal string such as \"12.34\""}
		}
		text = x
	case json.Number:
		text = x.String()
	case float64:
		text = strconv.FormatFloat(x, 'g', -1, 64)
	case int:
		return normal(new(big.Int).Mul(big.NewInt(int64(x)), big.NewInt(100)))
	case *big.Int:
		return normal(new(big.Int).Mul(x, big.NewInt(100)))
	default:
		return &fenError{"want a decimal string or a number, got " + typeName(v)}
	}
	n, err := decimalFen(text)
	if err != nil {
		return &fenError{err.Error()}
	}
	return normal(n)
}

// normal returns n as gojq keeps integers: an int when it fits.
func normal(n *big.Int) any {
	if n.IsInt64() {
		return int(n.Int64())
	}
	return n
}

// decimalFen reads s = [-]digits[.digits][e[±]digits] and returns s × 100
// when it is an integer.
func decimalFen(s string) (*big.Int, error) {
	bad := errors.New("want a decimal string such as \"12.34\"")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	exp := 0
	if hasExp {
		e, err := strconv.Atoi(expText)
		if err != nil || e > maxFenDigits || e < -maxFenDigits {
			return nil, bad
		}
		exp = e
	}
	whole, frac, hasDot := strings.Cut(mant, ".")
	if whole == "" || hasDot && frac == "" || !allDigits(whole) || !allDigits(frac) {
		return nil, bad
	}
	digits := strings.TrimLeft(whole+frac, "0")
	shift := 2 + exp - len(frac) // value = digits × 10^shift
	if shift < 0 {
		cut := min(-shift, len(digits))
		if strings.Trim(digits[len(digits)-cut:], "0") != "" {
			return nil, errors.New("more than 2 decimal places")
		}
		digits = digits[:len(digits)-cut]
		shift = 0
	}
	if len(digits)+shift > maxFenDigits {
		return nil, errors.New("too many digits")
	}
	digits += strings.Repeat("0", shift)
	if digits == "" {
		digits = "0"
	}
	if neg {
		digits = "-" + digits
	}
	n, _ := new(big.Int).SetString(digits, 10)
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
