package auditreport

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
)

// Anomaly rules work on the ledger's audit events only, so they see what reached the ledger:
// every read and list (allowed or denied, with the decision's reason), every write,
// amendment, grant, revocation and identity change. They cannot see what never did: a
// transaction rejected at CheckTx or FinalizeBlock (bad signature, wrong sequence, a
// deactivated signer, a rotation of a deactivated identity) and read requests that were void
// (signed with a superseded key, expired, replayed) leave no event. Hence "after key
// rotation" lists the activity that followed a rotation for review rather than the use of
// the old key, and "after deactivation" sees the denied reads a deactivated identity still
// signs.

// Anomaly rules. Each name is stable: reports, exports and tests refer to it.
const (
	RuleDenied            = "denied-access"
	RuleRepeatedDenials   = "repeated-denials"
	RuleManyPatients      = "many-patients"
	RulePurposeNotGranted = "purpose-not-granted"
	RuleAfterDeactivation = "after-deactivation"
	RuleAfterRotation     = "after-key-rotation"
	RuleOutsideHours      = "outside-working-hours"
	RuleEmergencyAccess   = "emergency-access"
)

// Texts the rules recognise in events. Reports read events only and import no domain
// package, so these are copies; anomaly_test.go checks them against the real decisions.
const (
	emergencyPurpose       = "emergency"                     // consent.Emergency
	purposeNotPermittedTxt = " does not permit the purpose " // access.Decide: `grant G does not permit the purpose "P"`
	deactivatedTxt         = "requester was deactivated"     // records.decideRead
)

// Severities, lowest first.
const (
	SeverityLow    = "low"
	SeverityMedium = "medium"
	SeverityHigh   = "high"
)

// RuleInfo explains one rule to the reader of a report.
type RuleInfo struct {
	Rule        string `json:"rule"`
	Severity    string `json:"severity"`
	Description string `json:"description"`
}

// RuleCatalog lists every rule in the order reports present them, with what it looks for and
// what the ledger can and cannot show about it.
var RuleCatalog = []RuleInfo{
	{RuleDenied, SeverityLow, "Every access the ledger denied (a read or list of records without a consent that covers it). One finding per denied event."},
	{RuleRepeatedDenials, SeverityHigh, "One actor was denied at least the configured number of times within the configured window: probing for records it may not see."},
	{RuleManyPatients, SeverityHigh, "One actor read, listed, wrote or amended records of at least the configured number of distinct patients within the configured window (allowed or denied)."},
	{RulePurposeNotGranted, SeverityMedium, "A read was asked for a purpose of use that the actor's grant does not name (the ledger denied it with \"grant ... does not permit the purpose ...\")."},
	{RuleAfterDeactivation, SeverityHigh, "An identity acted after it was deactivated. A deactivated identity cannot sign a transaction that the ledger accepts, so what shows on the ledger is its signed read requests, recorded as denied (\"requester was deactivated\")."},
	{RuleAfterRotation, SeverityLow, "An identity acted after its keys were rotated. Requests signed with the superseded key fail signature checks and never reach the ledger, so they cannot be seen here; what is listed is the rotation and the activity that followed it (with the new key), for review. Raised to medium if any of it was denied or the rotation was made by someone other than the identity itself."},
	{RuleOutsideHours, SeverityLow, "A provider, insurer or other non-patient accessed records outside the configured working hours (local time of the configured zone). One finding per actor and local day. Patients' own accesses are not flagged."},
	{RuleEmergencyAccess, SeverityMedium, "Every emergency (break-glass) declaration and every access for the emergency purpose of use, allowed or denied, for after-the-fact review."},
}

// Rules holds the thresholds of the anomaly rules.
type Rules struct {
	RepeatedDenials int           // at least this many denials by one actor ...
	DenialWindow    time.Duration // ... within this window
	ManyPatients    int           // at least this many distinct patients touched by one actor ...
	PatientWindow   time.Duration // ... within this window
	WorkStart       int           // working hours [WorkStart, WorkEnd) in Location; equal values disable the rule;
	WorkEnd         int           // WorkStart > WorkEnd is a night shift that wraps past midnight
	Location        *time.Location
}

// DefaultRules are the thresholds used unless configured otherwise.
func DefaultRules() Rules {
	return Rules{
		RepeatedDenials: 3, DenialWindow: 10 * time.Minute,
		ManyPatients: 20, PatientWindow: time.Hour,
		WorkStart: 7, WorkEnd: 19, Location: time.UTC,
	}
}

// Validate reports a threshold that cannot work.
func (r Rules) Validate() error {
	switch {
	case r.RepeatedDenials < 2:
		return fmt.Errorf("repeated denials threshold %d: want at least 2", r.RepeatedDenials)
	case r.DenialWindow <= 0:
		return fmt.Errorf("denial window %s: want a positive duration", r.DenialWindow)
	case r.ManyPatients < 2:
		return fmt.Errorf("many patients threshold %d: want at least 2", r.ManyPatients)
	case r.PatientWindow <= 0:
		return fmt.Errorf("patient window %s: want a positive duration", r.PatientWindow)
	case r.WorkStart < 0 || r.WorkStart > 23 || r.WorkEnd < 0 || r.WorkEnd > 24:
		return fmt.Errorf("working hours %d-%d: want hours between 0 and 24", r.WorkStart, r.WorkEnd)
	}
	return nil
}

func (r Rules) loc() *time.Location {
	if r.Location == nil {
		return time.UTC
	}
	return r.Location
}

// Anomaly is one finding: a rule, who, about which patient, and the log indexes of the events
// that triggered it.
type Anomaly struct {
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"`
	Actor    string    `json:"actor"`
	Patient  string    `json:"patient,omitempty"`
	Summary  string    `json:"summary"`
	Events   []uint64  `json:"events"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// Detect runs every rule over events and returns the findings ordered by first event time,
// then first event index, then rule. It is a pure function of its inputs. Events should carry
// their log Index (as read from the log) and come from one log; they are examined in index
// order.
func Detect(events []*audit.Event, r Rules) []Anomaly {
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, func(a, b *audit.Event) int { return cmp.Compare(a.Index, b.Index) })
	var out []Anomaly
	out = append(out, detectDenied(evs)...)
	out = append(out, detectRepeatedDenials(evs, r)...)
	out = append(out, detectManyPatients(evs, r)...)
	out = append(out, detectPurpose(evs)...)
	out = append(out, detectAfterDeactivation(evs)...)
	out = append(out, detectAfterRotation(evs)...)
	out = append(out, detectOutsideHours(evs, r)...)
	out = append(out, detectEmergency(evs)...)
	order := map[string]int{}
	for i, ri := range RuleCatalog {
		order[ri.Rule] = i
	}
	slices.SortStableFunc(out, func(a, b Anomaly) int {
		return cmp.Or(a.First.Compare(b.First), cmp.Compare(a.Events[0], b.Events[0]),
			cmp.Compare(order[a.Rule], order[b.Rule]), strings.Compare(a.Actor, b.Actor), strings.Compare(a.Patient, b.Patient))
	})
	return out
}

// isRecordAccess is an event in which an actor touched a patient's records.
func isRecordAccess(e *audit.Event) bool {
	switch e.Action {
	case audit.RecordRead, audit.RecordList, audit.RecordWrite, audit.RecordAmend:
		return true
	}
	return false
}

func newAnomaly(rule, sev, actor, patient, summary string, evs []*audit.Event) Anomaly {
	a := Anomaly{Rule: rule, Severity: sev, Actor: actor, Patient: patient, Summary: summary,
		First: evs[0].Time.UTC(), Last: evs[0].Time.UTC()}
	for _, e := range evs {
		a.Events = append(a.Events, e.Index)
		if t := e.Time.UTC(); t.Before(a.First) {
			a.First = t
		} else if t.After(a.Last) {
			a.Last = t
		}
	}
	return a
}

// describeAccess names what an access event touched, for summaries.
func describeAccess(e *audit.Event) string {
	s := e.Action
	if e.Record != "" {
		s += " of record " + e.Record
	}
	if e.Patient != "" {
		s += " of patient " + e.Patient
	}
	if e.Purpose != "" {
		s += " for " + e.Purpose
	}
	return s
}

func detectDenied(evs []*audit.Event) []Anomaly {
	var out []Anomaly
	for _, e := range evs {
		if e.Outcome == audit.Denied {
			out = append(out, newAnomaly(RuleDenied, SeverityLow, e.Actor, e.Patient,
				fmt.Sprintf("%s denied %s: %s", actorLabel(e), describeAccess(e), e.Reason), []*audit.Event{e}))
		}
	}
	return out
}

func actorLabel(e *audit.Event) string {
	if e.ActorRole == "" {
		return e.Actor
	}
	return e.ActorRole + " " + e.Actor
}

// groupByActor groups events by actor, keeping index order; actors come out sorted.
func groupByActor(evs []*audit.Event, keep func(*audit.Event) bool) ([]string, map[string][]*audit.Event) {
	m := map[string][]*audit.Event{}
	for _, e := range evs {
		if keep(e) {
			m[e.Actor] = append(m[e.Actor], e)
		}
	}
	actors := make([]string, 0, len(m))
	for a := range m {
		actors = append(actors, a)
	}
	slices.Sort(actors)
	return actors, m
}

// burstsOf finds, in one actor's time-ordered events, the maximal runs in which some window of
// at most width holds at least threshold distinct keys. Overlapping windows that reach the
// threshold merge into one burst.
func burstsOf(evs []*audit.Event, width time.Duration, threshold int, key func(*audit.Event) string) [][]*audit.Event {
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b *audit.Event) int { return a.Time.Compare(b.Time) })
	var out [][]*audit.Event
	counts := map[string]int{}
	start, burstFrom, burstTo := 0, -1, -1
	for j, e := range evs {
		counts[key(e)]++
		for e.Time.Sub(evs[start].Time) > width {
			k := key(evs[start])
			if counts[k]--; counts[k] == 0 {
				delete(counts, k)
			}
			start++
		}
		if len(counts) < threshold {
			continue
		}
		if burstFrom >= 0 && start <= burstTo {
			burstTo = j
			continue
		}
		if burstFrom >= 0 {
			out = append(out, evs[burstFrom:burstTo+1])
		}
		burstFrom, burstTo = start, j
	}
	if burstFrom >= 0 {
		out = append(out, evs[burstFrom:burstTo+1])
	}
	return out
}

func detectRepeatedDenials(evs []*audit.Event, r Rules) []Anomaly {
	if r.RepeatedDenials < 1 || r.DenialWindow <= 0 {
		return nil
	}
	actors, m := groupByActor(evs, func(e *audit.Event) bool { return e.Outcome == audit.Denied })
	var out []Anomaly
	for _, a := range actors {
		each := func(e *audit.Event) string { return fmt.Sprintf("%p", e) } // every denial counts once
		for _, b := range burstsOf(m[a], r.DenialWindow, r.RepeatedDenials, each) {
			out = append(out, newAnomaly(RuleRepeatedDenials, SeverityHigh, a, commonPatient(b),
				fmt.Sprintf("%s was denied %d times within %s (threshold %d in %s)", actorLabel(b[0]), len(b),
					b[len(b)-1].Time.Sub(b[0].Time).Round(time.Second), r.RepeatedDenials, r.DenialWindow), b))
		}
	}
	return out
}

// commonPatient is the patient all events share, or "".
func commonPatient(evs []*audit.Event) string {
	p := evs[0].Patient
	for _, e := range evs[1:] {
		if e.Patient != p {
			return ""
		}
	}
	return p
}

func detectManyPatients(evs []*audit.Event, r Rules) []Anomaly {
	if r.ManyPatients < 1 || r.PatientWindow <= 0 {
		return nil
	}
	actors, m := groupByActor(evs, func(e *audit.Event) bool { return isRecordAccess(e) && e.Patient != "" && e.Patient != e.Actor })
	var out []Anomaly
	for _, a := range actors {
		for _, b := range burstsOf(m[a], r.PatientWindow, r.ManyPatients, func(e *audit.Event) string { return e.Patient }) {
			distinct := map[string]bool{}
			for _, e := range b {
				distinct[e.Patient] = true
			}
			out = append(out, newAnomaly(RuleManyPatients, SeverityHigh, a, "",
				fmt.Sprintf("%s touched the records of %d distinct patients within %s (threshold %d in %s)", actorLabel(b[0]),
					len(distinct), b[len(b)-1].Time.Sub(b[0].Time).Round(time.Second), r.ManyPatients, r.PatientWindow), b))
		}
	}
	return out
}

// purposeNotPermitted tells whether a denial reason is access.Decide's wrong-purpose text.
func purposeNotPermitted(reason string) bool {
	return strings.HasPrefix(reason, "grant ") && strings.Contains(reason, purposeNotPermittedTxt)
}

func detectPurpose(evs []*audit.Event) []Anomaly {
	var out []Anomaly
	for _, e := range evs {
		if e.Outcome == audit.Denied && (e.Action == audit.RecordRead || e.Action == audit.RecordList) && purposeNotPermitted(e.Reason) {
			out = append(out, newAnomaly(RulePurposeNotGranted, SeverityMedium, e.Actor, e.Patient,
				fmt.Sprintf("%s asked to read record %s of patient %s for %s: %s", actorLabel(e), e.Record, e.Patient, e.Purpose, e.Reason), []*audit.Event{e}))
		}
	}
	return out
}

func detectAfterDeactivation(evs []*audit.Event) []Anomaly {
	deactivated := map[string]*audit.Event{} // identity -> its deactivation event
	var out []Anomaly
	for _, e := range evs {
		if e.Action == audit.IdentityDeactivate && e.Outcome == audit.Success && e.Subject != "" {
			if _, seen := deactivated[e.Subject]; !seen {
				deactivated[e.Subject] = e
			}
			continue
		}
		if e.Actor == "" {
			continue
		}
		d := deactivated[e.Actor]
		if d == nil && !strings.HasPrefix(e.Reason, deactivatedTxt) {
			continue
		}
		trig := []*audit.Event{e}
		when := "after it was deactivated"
		if d != nil {
			trig = []*audit.Event{d, e}
			when = fmt.Sprintf("after it was deactivated at height %d (event %d)", d.Height, d.Index)
		} else if i := strings.Index(e.Reason, "at height "); i >= 0 {
			when = "after it was deactivated " + e.Reason[i:]
		}
		out = append(out, newAnomaly(RuleAfterDeactivation, SeverityHigh, e.Actor, e.Patient,
			fmt.Sprintf("%s %s: %s %s", actorLabel(e), when, describeAccess(e), e.Outcome), trig))
	}
	return out
}

func detectAfterRotation(evs []*audit.Event) []Anomaly {
	type episode struct {
		rotation *audit.Event
		after    []*audit.Event
	}
	var eps []*episode
	current := map[string]*episode{} // identity -> its latest rotation
	for _, e := range evs {
		if e.Action == audit.IdentityRotate && e.Outcome == audit.Success && e.Subject != "" {
			ep := &episode{rotation: e}
			eps = append(eps, ep)
			current[e.Subject] = ep
			if e.Actor == e.Subject {
				continue // the rotation itself is not activity after it
			}
		}
		if ep := current[e.Actor]; ep != nil && e != ep.rotation {
			ep.after = append(ep.after, e)
		}
	}
	var out []Anomaly
	for _, ep := range eps {
		if len(ep.after) == 0 {
			continue
		}
		rot := ep.rotation
		sev, denied := SeverityLow, 0
		for _, e := range ep.after {
			if e.Outcome == audit.Denied {
				denied++
			}
		}
		by := "by itself"
		if rot.Actor != rot.Subject {
			by = "by " + actorLabel(rot)
		}
		if denied > 0 || rot.Actor != rot.Subject {
			sev = SeverityMedium
		}
		out = append(out, newAnomaly(RuleAfterRotation, sev, rot.Subject, commonPatient(ep.after),
			fmt.Sprintf("identity %s acted %d times (%d denied) after its keys were rotated %s at height %d; attempts with the old key never reach the ledger",
				rot.Subject, len(ep.after), denied, by, rot.Height), append([]*audit.Event{rot}, ep.after...)))
	}
	return out
}

// outsideHours tells whether t falls outside the working hours of r.
func (r Rules) outsideHours(t time.Time) bool {
	if r.WorkStart == r.WorkEnd {
		return false
	}
	h := t.In(r.loc()).Hour()
	if r.WorkStart < r.WorkEnd {
		return h < r.WorkStart || h >= r.WorkEnd
	}
	return h < r.WorkStart && h >= r.WorkEnd // a night shift: working hours wrap midnight
}

func detectOutsideHours(evs []*audit.Event, r Rules) []Anomaly {
	type key struct{ actor, day string }
	groups := map[key][]*audit.Event{}
	var keys []key
	for _, e := range evs {
		if !isRecordAccess(e) || e.Actor == e.Patient || !r.outsideHours(e.Time) {
			continue
		}
		k := key{e.Actor, e.Time.In(r.loc()).Format(time.DateOnly)}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], e)
	}
	var out []Anomaly
	for _, k := range keys {
		g := groups[k]
		out = append(out, newAnomaly(RuleOutsideHours, SeverityLow, k.actor, commonPatient(g),
			fmt.Sprintf("%s made %d accesses outside working hours %02d:00-%02d:00 %s on %s (first at %s)", actorLabel(g[0]), len(g),
				r.WorkStart, r.WorkEnd, r.loc(), k.day, g[0].Time.In(r.loc()).Format("15:04:05")), g))
	}
	return out
}

func detectEmergency(evs []*audit.Event) []Anomaly {
	var out []Anomaly
	for _, e := range evs {
		if isRecordAccess(e) && e.Purpose == emergencyPurpose {
			out = append(out, newAnomaly(RuleEmergencyAccess, SeverityMedium, e.Actor, e.Patient,
				fmt.Sprintf("%s: %s %s (%s)", actorLabel(e), describeAccess(e), e.Outcome, e.Reason), []*audit.Event{e}))
		}
		if e.Action == audit.EmergencyDeclare && e.Outcome == audit.Success {
			out = append(out, newAnomaly(RuleEmergencyAccess, SeverityMedium, e.Actor, e.Patient,
				fmt.Sprintf("%s: declared emergency %s (%s)", actorLabel(e), e.Emergency, e.Reason), []*audit.Event{e}))
		}
	}
	return out
}
