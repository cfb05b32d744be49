package claims

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseLine reads a service line written SYSTEM|CODE|AMOUNT[|QUANTITY] (the CLI's --line),
// with seq its sequence number in the claim; the quantity defaults to 1.
func ParseLine(seq int, s string) (LineInput, error) {
	p := strings.Split(s, "|")
	if len(p) < 3 || len(p) > 4 {
		return LineInput{}, fmt.Errorf("%q: want SYSTEM|CODE|AMOUNT[|QUANTITY]", s)
	}
	cents, err := ParseCents(p[2])
	if err != nil {
		return LineInput{}, fmt.Errorf("%q: %w", s, err)
	}
	l := LineInput{Seq: seq, System: p[0], Code: p[1], Quantity: 1, Charge: cents}
	if len(p) == 4 {
		if l.Quantity, err = strconv.ParseInt(p[3], 10, 64); err != nil {
			return LineInput{}, fmt.Errorf("%q: quantity: %w", s, err)
		}
	}
	return l, nil
}
