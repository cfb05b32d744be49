package auditreport

import (
	"fmt"
	"time"
)

// Kind is which report a period is asked for.
type Kind string

// Report kinds, as the CLI and the portal name them.
const (
	KindDisclosures Kind = "disclosures" // an accounting of disclosures for one patient
	KindCompliance  Kind = "compliance"  // the system-wide compliance report
)

// The period policy, one for every way of asking for a report. An accounting of
// disclosures covers six years by default and at most (HIPAA, 45 CFR 164.528: an
// individual may ask for up to six years before the request). A compliance report covers
// the last 30 days by default and at most a year: its anomaly rules hold every event of
// the period in memory.
const (
	DisclosurePeriod     = 6  // years: the default and the longest accounting of disclosures
	ComplianceWindow     = 30 // days: the default compliance report
	MaxComplianceWindow  = 1  // years: the longest compliance report
	disclosurePeriodText = "6 years (45 CFR 164.528)"
	compliancePeriodText = "1 year"
)

// Period is the stretch of block time [From, To) a report covers, and the earliest block
// time of the events it needs.
type Period struct {
	Kind     Kind
	From, To time.Time
	// FetchFrom is where to start fetching events: From for an accounting of disclosures;
	// zero (the start of the log) for a compliance report, whose anomaly rules look back
	// past the period (a deactivation or key rotation before it explains what happened in it).
	FetchFrom time.Time
}

// ResolvePeriod applies the policy to a request for a report of kind k over [from, to): a
// zero to is now, a zero from is the kind's default period before to. A period that ends
// before it starts, or is longer than the kind allows, is refused with what to ask for
// instead.
func ResolvePeriod(k Kind, from, to, now time.Time) (Period, error) {
	if to.IsZero() {
		to = now
	}
	var earliest time.Time
	var name, most string
	switch k {
	case KindDisclosures:
		earliest, name, most = to.AddDate(-DisclosurePeriod, 0, 0), "an accounting of disclosures", disclosurePeriodText
	case KindCompliance:
		earliest, name, most = to.AddDate(-MaxComplianceWindow, 0, 0), "a compliance report", compliancePeriodText
		if from.IsZero() {
			from = to.AddDate(0, 0, -ComplianceWindow)
		}
	default:
		return Period{}, fmt.Errorf("unknown report %q: ask for %s or %s", k, KindCompliance, KindDisclosures)
	}
	if from.IsZero() {
		from = earliest
	}
	from, to = from.UTC(), to.UTC()
	switch {
	case from.After(to):
		return Period{}, fmt.Errorf("the period starts at %s, after its end %s", stamp(from), stamp(to))
	case from.Before(earliest):
		return Period{}, fmt.Errorf("%s covers at most %s: the period from %s to %s is longer; start it at %s or later",
			name, most, stamp(from), stamp(to), stamp(earliest.UTC()))
	}
	p := Period{Kind: k, From: from, To: to}
	if k == KindDisclosures {
		p.FetchFrom = from
	}
	return p, nil
}

func stamp(t time.Time) string { return t.Format(time.RFC3339) }

// ParseBound reads a bound of a report period: an RFC 3339 time or a date (UTC). A date
// that ends a period (end) includes that whole day. "" is no bound (the zero time).
func ParseBound(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: give an RFC 3339 time (2026-01-31T09:00:00Z) or a date (2026-01-31)", s)
}
