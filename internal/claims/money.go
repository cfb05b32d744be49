package claims

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits on amounts and counts, so sums of a claim cannot overflow int64.
const (
	MaxAmount = 10_000_000_000 // cents per line (100 million in currency units)
	MaxLines  = 100            // lines per claim
	MaxBP     = 10_000         // basis points in 100 %
)

// Date is a calendar date, "YYYY-MM-DD". Dates compare as strings; no time zone is involved,
// so a date of service means the same day on every node.
type Date string

// ParseDate validates a date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return "", fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return Date(s), nil
}

// DateOf is the calendar date of t in its own offset (how FHIR writes a date of service).
func DateOf(t time.Time) Date { return Date(t.Format(time.DateOnly)) }

// Year is the benefit period a date falls in: its calendar year.
func (d Date) Year() string { return string(d[:4]) }

func (d Date) valid() bool { _, err := ParseDate(string(d)); return err == nil }

// ParseCents reads a decimal currency amount ("12", "12.3", "12.345") as integer cents,
// rounding half up at the third decimal. It never goes through a float, so FHIR amounts such
// as 28.104000000000003 convert exactly.
func ParseCents(s string) (int64, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	if neg {
		return 0, fmt.Errorf("amount %q is negative", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || strings.ContainsFunc(whole+frac, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, fmt.Errorf("amount %q: want a decimal number such as 12.34", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %v", s, err)
	}
	frac += "000"
	c, _ := strconv.ParseInt(frac[:2], 10, 64)
	cents := w*100 + c
	if frac[2] >= '5' {
		cents++
	}
	return cents, nil
}

// FormatCents writes cents as a decimal amount ("12.34").
func FormatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// share is amount × bp / 10000, rounded half up, in integers.
func share(amount, bp int64) int64 { return (amount*bp + MaxBP/2) / MaxBP }
