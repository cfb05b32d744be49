package auditreport_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/auditreport"
)

// TestResolvePeriod: one case a line. from and to are the request ("" is no bound, a date
// ends after that day); want is the period, or the error's text.
func TestResolvePeriod(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		kind          auditreport.Kind
		from, to      string
		want, wantErr string // want: "FROM TO FETCHFROM" in RFC 3339, "-" for a zero fetch bound
	}{
		// Defaults: six years of disclosures, 30 days of compliance, up to now.
		{auditreport.KindDisclosures, "", "", "2020-03-15T10:00:00Z 2026-03-15T10:00:00Z 2020-03-15T10:00:00Z", ""},
		{auditreport.KindCompliance, "", "", "2026-02-13T10:00:00Z 2026-03-15T10:00:00Z -", ""},
		{auditreport.KindCompliance, "", "2026-01-31", "2026-01-02T00:00:00Z 2026-02-01T00:00:00Z -", ""},
		// The longest periods are allowed to the second ...
		{auditreport.KindDisclosures, "2020-01-01", "2025-12-31", "2020-01-01T00:00:00Z 2026-01-01T00:00:00Z 2020-01-01T00:00:00Z", ""},
		{auditreport.KindCompliance, "2025-01-01", "2025-12-31", "2025-01-01T00:00:00Z 2026-01-01T00:00:00Z -", ""},
		// ... and one second more is refused, saying where the period may start.
		{auditreport.KindDisclosures, "2019-12-31T23:59:59Z", "2025-12-31", "", "an accounting of disclosures covers at most 6 years (45 CFR 164.528): the period from 2019-12-31T23:59:59Z to 2026-01-01T00:00:00Z is longer; start it at 2020-01-01T00:00:00Z or later"},
		{auditreport.KindCompliance, "2024-12-31T23:59:59Z", "2025-12-31", "", "a compliance report covers at most 1 year: the period from 2024-12-31T23:59:59Z to 2026-01-01T00:00:00Z is longer; start it at 2025-01-01T00:00:00Z or later"},
		{auditreport.KindCompliance, "2000-01-01", "", "", "a compliance report covers at most 1 year"},
		// A period that ends before it starts; an empty one is allowed.
		{auditreport.KindCompliance, "2026-02-01", "2026-01-01T00:00:00Z", "", "the period starts at 2026-02-01T00:00:00Z, after its end 2026-01-01T00:00:00Z"},
		{auditreport.KindDisclosures, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z", ""},
		// Times in another zone come back in UTC.
		{auditreport.KindDisclosures, "2026-01-01T01:00:00+01:00", "2026-01-02T00:00:00+01:00", "2026-01-01T00:00:00Z 2026-01-01T23:00:00Z 2026-01-01T00:00:00Z", ""},
		{"activity", "", "", "", `unknown report "activity"`},
	} {
		from, err := auditreport.ParseBound(c.from, false)
		if err != nil {
			t.Fatal(err)
		}
		to, err := auditreport.ParseBound(c.to, true)
		if err != nil {
			t.Fatal(err)
		}
		p, err := auditreport.ResolvePeriod(c.kind, from, to, now)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s %q..%q: error %v, want %q", c.kind, c.from, c.to, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q..%q: %v", c.kind, c.from, c.to, err)
			continue
		}
		fetch := "-"
		if !p.FetchFrom.IsZero() {
			fetch = p.FetchFrom.Format(time.RFC3339)
		}
		if got := p.From.Format(time.RFC3339) + " " + p.To.Format(time.RFC3339) + " " + fetch; got != c.want || p.Kind != c.kind {
			t.Errorf("%s %q..%q: period %s, want %s", c.kind, c.from, c.to, got, c.want)
		}
	}
}

// TestParseBound: a date that ends a period takes in the whole day; anything else than an
// RFC 3339 time or a date is refused.
func TestParseBound(t *testing.T) {
	for _, c := range []struct {
		in   string
		end  bool
		want string
	}{
		{"2026-01-31", false, "2026-01-31T00:00:00Z"},
		{"2026-01-31", true, "2026-02-01T00:00:00Z"},
		{"2026-01-31T09:30:00+02:00", true, "2026-01-31T07:30:00Z"},
		{"", false, "0001-01-01T00:00:00Z"},
	} {
		got, err := auditreport.ParseBound(c.in, c.end)
		if err != nil || got.Format(time.RFC3339) != c.want {
			t.Errorf("ParseBound(%q, %v) = %v, %v; want %s", c.in, c.end, got, err, c.want)
		}
	}
	for _, bad := range []string{"31/01/2026", "2026-1-31", "yesterday", "2026-01-31 09:00"} {
		if _, err := auditreport.ParseBound(bad, false); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("ParseBound(%q) = %v, want a refusal naming the forms", bad, err)
		}
	}
}
