package fhir

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// parseFHIRTime reads a FHIR date, dateTime or instant as the half-open range [lo, hi) it
// denotes at its precision: "2020" is the whole year. Values without a zone (dates) are
// taken as UTC; the format itself is checked by the generated regular expressions.
func parseFHIRTime(s string) (lo, hi time.Time, err error) {
	switch len(s) {
	case 4:
		lo, err = time.Parse("2006", s)
		return lo, lo.AddDate(1, 0, 0), err
	case 7:
		lo, err = time.Parse("2006-01", s)
		return lo, lo.AddDate(0, 1, 0), err
	case 10:
		lo, err = time.Parse("2006-01-02", s)
		if err != nil {
			return lo, lo, fmt.Errorf("%q is not a calendar date", s)
		}
		return lo, lo.AddDate(0, 0, 1), nil
	}
	if !strings.Contains(s, "T") {
		return lo, hi, errors.New("unrecognized date form")
	}
	lo, err = time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return lo, hi, fmt.Errorf("%q is not a valid date and time with a zone", s)
	}
	step := time.Second
	if i := strings.IndexByte(s, '.'); i > 0 {
		digits := 0
		for _, c := range s[i+1:] {
			if c < '0' || c > '9' {
				break
			}
			digits++
		}
		step = time.Second
		for range min(digits, 9) {
			step /= 10
		}
	}
	return lo, lo.Add(step), nil
}
