package epcis

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// pyStrip trims what Python's str.strip() trims: Unicode white space and the ASCII
// separators U+001C..U+001F.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}

var (
	pyFloatSyntax   = regexp.MustCompile(`^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$`)
	pyFloatSpecials = regexp.MustCompile(`^(?i)[+-]?(?:inf|infinity|nan)$`)
)

// pyParseFloat reads what Python's float() reads (ASCII digits only).
func pyParseFloat(s string) (float64, bool) {
	switch {
	case pyFloatSpecials.MatchString(s):
		l := strings.ToLower(strings.TrimLeft(s, "+-"))
		if l == "nan" {
			return math.NaN(), true
		}
		if strings.HasPrefix(s, "-") {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case pyFloatSyntax.MatchString(s):
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// pyFloatRepr is Python's repr() of a float: the shortest digits that read back, in
// fixed notation from 1e-4 up to 1e16 and in exponent notation outside.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	sign := ""
	if math.Signbit(f) {
		sign = "-"
		f = -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±xx
	mant, expText, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	decpt := exp + 1
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt < len(digits):
			return sign + digits[:decpt] + "." + digits[decpt:]
		default:
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		}
	}
	m := digits[:1]
	if len(digits) > 1 {
		m += "." + digits[1:]
	}
	es := "+"
	if exp < 0 {
		es = "-"
		exp = -exp
	}
	return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
}

// canonicalNumber writes a numeric value without trailing zeros ("1.0" is "1"); other
// text is returned as it is.
func canonicalNumber(text string) (string, error) {
	f, ok := pyParseFloat(text)
	if !ok || math.IsNaN(f) {
		return text, nil
	}
	if math.IsInf(f, 0) {
		return "", fmt.Errorf("value %q is an infinite number, which has no Event Hash ID", text)
	}
	if f == math.Trunc(f) {
		i, _ := new(big.Float).SetFloat64(f).Int(nil)
		return i.String(), nil
	}
	return pyFloatRepr(f), nil
}

var timestampSyntax = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})?$`)

// canonicalTime writes a timestamp in UTC at millisecond precision, rounding the third
// decimal up when the fourth is 5 to 9 (CBV 2.0). Text that is not a timestamp is
// returned unchanged, as the reference does; a timestamp without a UTC offset is refused
// because its instant is unknown.
func canonicalTime(text string) (string, error) {
	m := timestampSyntax.FindStringSubmatch(text)
	if m == nil {
		return text, nil
	}
	if m[8] == "" {
		return "", fmt.Errorf("timestamp %q has no UTC offset", text)
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	offset := 0
	if z := m[8]; z != "Z" && z != "z" {
		z = strings.Replace(z, ":", "", 1)
		offset = (num(z[1:3])*60 + num(z[3:5])) * 60
		if z[0] == '-' {
			offset = -offset
		}
	}
	y, mo, d, h, mi, s := num(m[1]), num(m[2]), num(m[3]), num(m[4]), num(m[5]), num(m[6])
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.FixedZone("", offset))
	if t.Year() != y || int(t.Month()) != mo || t.Day() != d || t.Hour() != h || t.Minute() != mi || t.Second() != s {
		return text, nil // not a real date or time: left as text
	}
	frac := m[7] + "0000"
	ms := num(frac[:3])
	if frac[3] >= '5' {
		ms++
	}
	t = t.Add(time.Duration(ms) * time.Millisecond)
	return t.UTC().Format("2006-01-02T15:04:05.000Z"), nil
}
