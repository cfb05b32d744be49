package trials

import (
	"bytes"
	"slices"
	"time"
)

// Changes lists which parts of a protocol next changes from prev, in a fixed order.
func Changes(prev, next *Protocol) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	add("protocol_sha256", prev.Digest != next.Digest)
	add("outcomes.primary", !slices.Equal(prev.Outcomes.Primary, next.Outcomes.Primary))
	add("outcomes.secondary", !slices.Equal(prev.Outcomes.Secondary, next.Outcomes.Secondary))
	add("planned_enrolment", prev.PlannedEnrolment != next.PlannedEnrolment)
	add("arms", !slices.Equal(prev.Arms, next.Arms))
	add("sites", !slices.Equal(prev.Sites, next.Sites))
	add("primary_completion", prev.PrimaryCompletion != next.PrimaryCompletion)
	add("research_study", !bytes.Equal(prev.ResearchStudy, next.ResearchStudy))
	add("categories", !slices.Equal(prev.Categories, next.Categories))
	return out
}

// PrimarySwitched reports whether next's primary outcomes differ from prev's as a set of
// (measure, time frame): reordering is not a switch, any other change is.
func PrimarySwitched(prev, next *Protocol) bool {
	set := func(os []Outcome) map[[2]string]bool {
		m := map[[2]string]bool{}
		for _, o := range os {
			m[[2]string{measureKey(o.Measure), o.TimeFrame}] = true
		}
		return m
	}
	a, b := set(prev.Outcomes.Primary), set(next.Outcomes.Primary)
	if len(a) != len(b) {
		return true
	}
	for k := range a {
		if !b[k] {
			return true
		}
	}
	return false
}

// Reported is one outcome as the sponsor reports it in results.
type Reported struct {
	Measure   string `json:"measure"`
	TimeFrame string `json:"time_frame"`
	Primary   bool   `json:"primary"`
	Result    string `json:"result"` // the summary result, as text
}

// Discrepancy kinds: how a report departs from the pre-specified outcomes.
const (
	MissingPrimary    = "missing_primary"    // a pre-specified primary outcome is not reported
	MissingSecondary  = "missing_secondary"  // a pre-specified secondary outcome is not reported
	NotPrespecified   = "not_prespecified"   // a reported outcome was never pre-specified
	TimeFrameChanged  = "time_frame_changed" // reported over another time frame than pre-specified
	PrimaryDemoted    = "primary_demoted"    // a pre-specified primary outcome reported as secondary
	SecondaryPromoted = "secondary_promoted" // a pre-specified secondary outcome reported as primary
)

// Discrepancy is one departure of a report from the pre-specified outcomes.
type Discrepancy struct {
	Kind      string `json:"kind"`
	Measure   string `json:"measure"`
	Specified string `json:"specified,omitempty"` // the pre-specified time frame, where it differs
	Reported  string `json:"reported,omitempty"`  // the reported time frame, where it differs
}

// Compare checks reported outcomes against the pre-specified ones. Outcomes are matched by
// measure (words, case folded). The result is in a fixed order: pre-specified outcomes in
// protocol order (primary first), then outcomes that were not pre-specified in report order.
func Compare(pre Outcomes, reported []Reported) []Discrepancy {
	byMeasure := map[string]int{}
	for i, r := range reported {
		if _, dup := byMeasure[measureKey(r.Measure)]; !dup {
			byMeasure[measureKey(r.Measure)] = i
		}
	}
	var out []Discrepancy
	specified := map[string]bool{}
	check := func(o Outcome, primary bool) {
		k := measureKey(o.Measure)
		specified[k] = true
		i, ok := byMeasure[k]
		if !ok {
			kind := MissingSecondary
			if primary {
				kind = MissingPrimary
			}
			out = append(out, Discrepancy{Kind: kind, Measure: o.Measure})
			return
		}
		r := reported[i]
		switch {
		case primary && !r.Primary:
			out = append(out, Discrepancy{Kind: PrimaryDemoted, Measure: o.Measure})
		case !primary && r.Primary:
			out = append(out, Discrepancy{Kind: SecondaryPromoted, Measure: o.Measure})
		}
		if r.TimeFrame != o.TimeFrame {
			out = append(out, Discrepancy{Kind: TimeFrameChanged, Measure: o.Measure, Specified: o.TimeFrame, Reported: r.TimeFrame})
		}
	}
	for _, o := range pre.Primary {
		check(o, true)
	}
	for _, o := range pre.Secondary {
		check(o, false)
	}
	for _, r := range reported {
		if !specified[measureKey(r.Measure)] {
			out = append(out, Discrepancy{Kind: NotPrespecified, Measure: r.Measure})
		}
	}
	return out
}

// ResultsDue is the last moment results are on time: one year after the primary completion
// date (FDAAA 801), at the end of that day in UTC. ok is false if the date is malformed.
func ResultsDue(primaryCompletion string) (due time.Time, ok bool) {
	d, err := ParseDate(primaryCompletion)
	if err != nil {
		return time.Time{}, false
	}
	return d.AddDate(1, 0, 1).Add(-time.Nanosecond), true
}

// Overdue reports whether t's results are overdue at now (block time): the primary
// completion date in force plus one year has passed and no results were posted by now.
// Results posted late end the overdue state, and stay marked late (see Late).
func Overdue(t *Trial, now time.Time) bool {
	due, ok := ResultsDue(t.PrimaryCompletion)
	if !ok || !now.After(due) {
		return false
	}
	return t.Results == 0 || t.FirstResults.After(now)
}

// Late reports whether results posted at posted missed the deadline.
func Late(primaryCompletion string, posted time.Time) bool {
	due, ok := ResultsDue(primaryCompletion)
	return ok && posted.After(due)
}
