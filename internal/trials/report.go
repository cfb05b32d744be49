package trials

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The transparency report: what the ledger shows about one trial, rule by rule, each
// finding with the stored records it rests on (their state keys, heights, times and
// transaction hashes). BuildReport is a pure function of the public records (ReportFacts,
// none of which names a participant), the enrolment activity (counted without ids) and the
// block time, so anyone holding proofs of those records recomputes it.

// Rules a report judges, in the order findings are listed.
const (
	RuleRegisteredFirst = "registered_before_enrolment" // registration precedes the first enrolment
	RuleApprovedFirst   = "approved_before_enrolment"   // an IRB approval precedes the first enrolment
	RuleOutcomeSwitch   = "outcome_switch"              // an amendment changed the primary outcomes after enrolment started
	RuleOutcomes        = "reported_outcomes"           // each results posting compared with the pre-specified outcomes
	RuleDeadlineMoved   = "deadline_moved"              // an amendment moved the primary completion after the results deadline had passed
	RuleResultsDue      = "results_due"                 // results within 12 months of primary completion (FDAAA 801)
	RuleDataset         = "analysis_dataset"            // the analysis dataset is a recorded export
	RuleConsentVersion  = "consent_version"             // every enrolment under the consent form in force
	RuleWithdrawal      = "data_after_withdrawal"       // no data recorded after a withdrawal
)

// Kinds of a results_due violation.
const (
	KindOverdue = "overdue" // past the deadline at block time, no results posted
	KindLate    = "late"    // results posted after the deadline
)

// Finding statuses.
const (
	StatusOK        = "ok"        // the rule holds on the ledger's records
	StatusViolation = "violation" // the records show a departure
	StatusPending   = "pending"   // nothing to judge yet (no results, deadline not reached)
	StatusEnforced  = "enforced"  // the contract refuses the departure; the records show it never happened
)

// Evidence is one stored record a finding rests on: its state key and, for a signed act,
// the height, block time and transaction of the signature.
type Evidence struct {
	What   string    `json:"what"`
	Key    string    `json:"key"`
	Height int64     `json:"height,omitempty"`
	Time   time.Time `json:"time,omitzero"`
	Tx     string    `json:"tx,omitempty"`
}

// Finding is one judged rule (or, for reported outcomes, one discrepancy).
type Finding struct {
	Rule     string     `json:"rule"`
	Status   string     `json:"status"`
	Kind     string     `json:"kind,omitempty"` // a discrepancy kind (MissingPrimary, ...) for RuleOutcomes; KindOverdue or KindLate for RuleResultsDue
	Measure  string     `json:"measure,omitempty"`
	Detail   string     `json:"detail"`
	Evidence []Evidence `json:"evidence"`
}

// ReportFacts are the stored records a report is built from: the head record and every
// version, IRB decision, consent form, export and results posting. All are public: none
// names a participant.
type ReportFacts struct {
	Trial        *Trial         `json:"trial"`
	Versions     []*Version     `json:"versions"`
	Decisions    []*Decision    `json:"decisions"`
	ConsentForms []*ConsentForm `json:"consent_forms"`
	Exports      []*Export      `json:"exports"`
	Postings     []*Posting     `json:"postings"`
}

// LoadReportFacts reads a trial's public records, or nil if it is not registered. Every
// key it reads is one a report proves.
func LoadReportFacts(r Reader, id string) (*ReportFacts, error) {
	t := Get(r, id)
	if t == nil {
		return nil, nil
	}
	if t.Head == 0 {
		return nil, fmt.Errorf("trial %s's record names no protocol version", id)
	}
	f := &ReportFacts{Trial: t, Versions: Versions(r, t), Decisions: Decisions(r, t),
		ConsentForms: ConsentForms(r, t), Exports: Exports(r, t), Postings: Postings(r, t)}
	for _, part := range []struct {
		what string
		n    int
		ok   bool
	}{
		{"protocol version", len(f.Versions), !slices.Contains(f.Versions, nil)},
		{"IRB decision", len(f.Decisions), !slices.Contains(f.Decisions, nil)},
		{"consent form", len(f.ConsentForms), !slices.Contains(f.ConsentForms, nil)},
		{"export", len(f.Exports), !slices.Contains(f.Exports, nil)},
		{"results posting", len(f.Postings), !slices.Contains(f.Postings, nil)},
	} {
		if !part.ok {
			return nil, fmt.Errorf("trial %s: a %s its head record counts (%d) is missing", id, part.what, part.n)
		}
	}
	return f, nil
}

// Mark is one enrolment-side event without the participant: when, and the consent-form
// version it concerns (signed at enrolment or re-consent; 0 for a withdrawal).
type Mark struct {
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
	Form   uint32    `json:"form,omitempty"`
}

// Activity is what the enrolment records show, counted without naming anyone: each
// enrolment, re-consent and withdrawal, in ledger order. The enrolment records are not
// public (they name participants), so a report cannot prove these; it checks them against
// the proven counts of the head record, and no finding depends on them.
type Activity struct {
	Enrolments  []Mark `json:"enrolments"`
	Reconsents  []Mark `json:"reconsents"`
	Withdrawals []Mark `json:"withdrawals"`
}

// ActivityOf counts enrolments, re-consents and withdrawals, in ledger order.
func ActivityOf(es []*Enrolment) Activity {
	a := Activity{Enrolments: []Mark{}, Reconsents: []Mark{}, Withdrawals: []Mark{}}
	for _, e := range es {
		for i, c := range e.Consents {
			m := Mark{Height: c.Height, Time: c.Time, Form: c.Form}
			if i == 0 {
				a.Enrolments = append(a.Enrolments, m)
			} else {
				a.Reconsents = append(a.Reconsents, m)
			}
		}
		if w := e.Withdrawal; w != nil {
			a.Withdrawals = append(a.Withdrawals, Mark{Height: w.Height, Time: w.Time})
		}
	}
	for _, l := range [][]Mark{a.Enrolments, a.Reconsents, a.Withdrawals} {
		slices.SortStableFunc(l, func(x, y Mark) int { return cmp.Or(cmp.Compare(x.Height, y.Height), cmp.Compare(x.Form, y.Form)) })
	}
	return a
}

// Consistent checks activity against the proven head record: as many enrolments and
// withdrawals as it counts, the first enrolment at its height, every form signed one the
// trial has. A node cannot prove the activity without naming participants; it can be
// caught contradicting what it proves.
func (a *Activity) Consistent(t *Trial) error {
	if len(a.Enrolments) != int(t.Enrolled) || len(a.Withdrawals) != int(t.Withdrawn) {
		return fmt.Errorf("the activity lists %d enrolments and %d withdrawals, the trial record counts %d and %d",
			len(a.Enrolments), len(a.Withdrawals), t.Enrolled, t.Withdrawn)
	}
	if len(a.Enrolments) > 0 && a.Enrolments[0].Height != t.FirstEnrolment {
		return fmt.Errorf("the activity's first enrolment is at height %d, the trial record's at %d", a.Enrolments[0].Height, t.FirstEnrolment)
	}
	for _, m := range slices.Concat(a.Enrolments, a.Reconsents) {
		if m.Form == 0 || m.Form > t.ConsentForm || m.Height < t.FirstEnrolment {
			return fmt.Errorf("the activity has a consent signature of form %d at height %d, which the trial record rules out", m.Form, m.Height)
		}
	}
	return nil
}

// FormCount is how many participants signed one consent-form version, at enrolment and by
// re-consent.
type FormCount struct {
	Form       uint32 `json:"form"`
	Enrolled   int    `json:"enrolled"`
	Reconsents int    `json:"reconsents"`
}

// Event is one point of the report's timeline.
type Event struct {
	Kind   string    `json:"kind"` // registration, approval, review, amendment, consent_form, enrolment, reconsent, withdrawal, export, results, deadline
	Label  string    `json:"label"`
	Height int64     `json:"height,omitempty"` // 0: the deadline, a date rather than a block
	Time   time.Time `json:"time"`
	Tx     string    `json:"tx,omitempty"`
}

// Report is a trial's transparency report at one height and block time.
type Report struct {
	Trial             string      `json:"trial"`
	Title             string      `json:"title,omitempty"`
	Sponsor           string      `json:"sponsor"`
	IRB               string      `json:"irb"`
	Height            int64       `json:"height"`
	BlockTime         time.Time   `json:"block_time"`
	PrimaryCompletion string      `json:"primary_completion"`
	ResultsDue        string      `json:"results_due,omitempty"`
	Enrolled          uint32      `json:"enrolled"`
	Planned           uint32      `json:"planned_enrolment"`
	Withdrawn         uint32      `json:"withdrawn"`
	Observations      uint32      `json:"observations"`
	Findings          []Finding   `json:"findings"`
	Violations        int         `json:"violations"`
	Forms             []FormCount `json:"consent_form_counts"`
	Timeline          []Event     `json:"timeline"`
	// ResearchStudy is the FHIR R4 ResearchStudy of the version in force, byte for byte.
	ResearchStudy json.RawMessage `json:"research_study"`
}

// Count is how many findings of a rule have a status (the regulator's view counts them).
func (r *Report) Count(rule, status string) int {
	n := 0
	for _, f := range r.Findings {
		if f.Rule == rule && f.Status == status {
			n++
		}
	}
	return n
}

func sigEvidence(what string, key []byte, s Signature) Evidence {
	return Evidence{What: what, Key: string(key), Height: s.Height, Time: s.Time, Tx: s.Tx}
}

// BuildReport judges each transparency rule on a trial's records at block time now, as of
// height. It reads nothing but its arguments; f holds at least version 1, as
// LoadReportFacts ensures.
func BuildReport(f *ReportFacts, act Activity, height int64, now time.Time) *Report {
	t := f.Trial
	head := f.Versions[len(f.Versions)-1]
	rep := &Report{Trial: t.ID, Title: studyTitle(head.ResearchStudy), Sponsor: t.Sponsor, IRB: t.IRB, Height: height, BlockTime: now.UTC(),
		PrimaryCompletion: t.PrimaryCompletion, Enrolled: t.Enrolled, Planned: head.PlannedEnrolment,
		Withdrawn: t.Withdrawn, Observations: t.Observations, Findings: []Finding{}, ResearchStudy: head.ResearchStudy}
	due, dueOK := ResultsDue(t.PrimaryCompletion)
	if dueOK {
		rep.ResultsDue = due.Format(time.DateOnly)
	}
	headEv := Evidence{What: "trial record", Key: string(trialKey(t.ID))}
	reg := sigEvidence("registration (protocol version 1)", versionKey(t.ID, 1), f.Versions[0].Signature)
	add := func(fd Finding) { rep.Findings = append(rep.Findings, fd) }

	// Registration and approval before the first enrolment.
	if t.Enrolled == 0 {
		add(Finding{Rule: RuleRegisteredFirst, Status: StatusPending, Evidence: []Evidence{reg, headEv},
			Detail: fmt.Sprintf("registered at height %d (%s); no participant enrolled yet", t.RegisteredAt, day(t.RegisteredTime))})
	} else {
		fd := Finding{Rule: RuleRegisteredFirst, Status: StatusOK, Evidence: []Evidence{reg, headEv},
			Detail: fmt.Sprintf("registered at height %d (%s), first enrolment at height %d > %d; the contract refuses an enrolment in an unregistered trial (trials/3)",
				t.RegisteredAt, day(t.RegisteredTime), t.FirstEnrolment, t.RegisteredAt)}
		if t.FirstEnrolment == t.RegisteredAt {
			fd.Detail = fmt.Sprintf("registered at height %d (%s), first enrolment in the same block, after it: the contract refuses an enrolment in an unregistered trial (trials/3)",
				t.RegisteredAt, day(t.RegisteredTime))
		}
		if t.FirstEnrolment < t.RegisteredAt {
			fd.Status = StatusViolation
			fd.Detail = fmt.Sprintf("first enrolment at height %d, registration at height %d", t.FirstEnrolment, t.RegisteredAt)
		}
		add(fd)
		fd = Finding{Rule: RuleApprovedFirst, Status: StatusViolation, Evidence: []Evidence{headEv},
			Detail: fmt.Sprintf("no IRB approval recorded before the first enrolment at height %d", t.FirstEnrolment)}
		for _, d := range f.Decisions {
			if d.Signature.Meaning == Approval && d.Signature.Height <= t.FirstEnrolment { // the same block: it came first, or enrolment was refused
				fd.Status = StatusOK
				fd.Detail = fmt.Sprintf("protocol version %d approved by the IRB at height %d, before the first enrolment (height %d; trials/6 refuses enrolment without it)",
					d.Version, d.Signature.Height, t.FirstEnrolment)
				fd.Evidence = append([]Evidence{sigEvidence(fmt.Sprintf("IRB decision %d", d.Number), decisionKey(t.ID, d.Number), d.Signature)}, fd.Evidence...)
				break
			}
		}
		add(fd)
	}

	// Outcome switches by amendment, and deadlines moved after they passed.
	for i := 1; i < len(f.Versions); i++ {
		prev, v := f.Versions[i-1], f.Versions[i]
		ev := []Evidence{sigEvidence(fmt.Sprintf("protocol version %d", prev.Number), versionKey(t.ID, prev.Number), prev.Signature),
			sigEvidence(fmt.Sprintf("protocol version %d", v.Number), versionKey(t.ID, v.Number), v.Signature)}
		// The contract's flag decides within the first enrolment's block, where the state does
		// not keep the order of transactions.
		if v.OutcomeSwitch || PrimarySwitched(&prev.Protocol, &v.Protocol) && t.FirstEnrolment != 0 && t.FirstEnrolment < v.Signature.Height {
			add(Finding{Rule: RuleOutcomeSwitch, Status: StatusViolation, Evidence: ev,
				Detail: fmt.Sprintf("version %d (height %d, reason %q) changed the primary outcomes from %s to %s after enrolment started at height %d",
					v.Number, v.Signature.Height, v.Signature.Reason, outcomeList(prev.Outcomes.Primary), outcomeList(v.Outcomes.Primary), t.FirstEnrolment)})
		}
		if prevDue, ok := ResultsDue(prev.PrimaryCompletion); ok && prev.PrimaryCompletion != v.PrimaryCompletion && v.Signature.Time.After(prevDue) {
			add(Finding{Rule: RuleDeadlineMoved, Status: StatusViolation, Evidence: ev,
				Detail: fmt.Sprintf("version %d (height %d, %s) moved the primary completion from %s to %s after the results deadline %s had passed",
					v.Number, v.Signature.Height, day(v.Signature.Time), prev.PrimaryCompletion, v.PrimaryCompletion, prevDue.Format(time.DateOnly))})
		}
	}

	// Each results posting against the pre-specified outcomes.
	if len(f.Postings) == 0 {
		add(Finding{Rule: RuleOutcomes, Status: StatusPending, Evidence: []Evidence{headEv}, Detail: "no results posted: nothing to compare with the pre-specified outcomes"})
	}
	for _, p := range f.Postings {
		if p.ComparedWith < 1 || int(p.ComparedWith) > len(f.Versions) {
			add(Finding{Rule: RuleOutcomes, Status: StatusViolation, Evidence: []Evidence{sigEvidence(fmt.Sprintf("results posting %d", p.Number), postingKey(t.ID, p.Number), p.Signature)},
				Detail: fmt.Sprintf("results posting %d is compared with protocol version %d, which the trial does not have", p.Number, p.ComparedWith)})
			continue
		}
		base := f.Versions[p.ComparedWith-1]
		ev := []Evidence{sigEvidence(fmt.Sprintf("pre-specified outcomes (protocol version %d, in force at the first enrolment)", base.Number), versionKey(t.ID, base.Number), base.Signature),
			sigEvidence(fmt.Sprintf("results posting %d", p.Number), postingKey(t.ID, p.Number), p.Signature)}
		ds := Compare(base.Outcomes, p.Outcomes)
		if len(ds) == 0 {
			add(Finding{Rule: RuleOutcomes, Status: StatusOK, Evidence: ev,
				Detail: fmt.Sprintf("results posting %d reports the %d outcomes of version %d as pre-specified", p.Number, len(p.Outcomes), base.Number)})
		}
		for _, d := range ds {
			add(Finding{Rule: RuleOutcomes, Status: StatusViolation, Kind: d.Kind, Measure: d.Measure, Evidence: ev,
				Detail: fmt.Sprintf("results posting %d: %s", p.Number, describe(d))})
		}
		if p.Dataset != "" {
			fd := Finding{Rule: RuleDataset, Status: StatusViolation, Evidence: ev[1:],
				Detail: fmt.Sprintf("results posting %d names analysis dataset %s, which matches no dataset export event", p.Number, p.Dataset)}
			for _, x := range f.Exports {
				if x.Digest == p.Dataset && x.Signature.Height <= p.Signature.Height {
					fd.Status = StatusOK
					fd.Detail = fmt.Sprintf("results posting %d's analysis dataset is export %d (as of height %d: %d participants, %d records)", p.Number, x.Number, x.AsOf, x.Participants, x.Records)
					fd.Evidence = append(fd.Evidence, sigEvidence(fmt.Sprintf("export %d", x.Number), exportKey(t.ID, x.Number), x.Signature))
					break
				}
			}
			add(fd)
		}
	}

	// Results within 12 months of the primary completion in force.
	ev := []Evidence{sigEvidence(fmt.Sprintf("primary completion (protocol version %d)", head.Number), versionKey(t.ID, head.Number), head.Signature)}
	switch first := firstPosting(f.Postings); {
	case !dueOK:
		add(Finding{Rule: RuleResultsDue, Status: StatusPending, Evidence: ev, Detail: fmt.Sprintf("primary completion %q is not a date", t.PrimaryCompletion)})
	case first != nil:
		ev = append(ev, sigEvidence(fmt.Sprintf("results posting %d", first.Number), postingKey(t.ID, first.Number), first.Signature))
		fd := Finding{Rule: RuleResultsDue, Status: StatusOK, Evidence: ev,
			Detail: fmt.Sprintf("results posted at height %d (%s), within the deadline %s (primary completion %s + 12 months)", first.Signature.Height, day(first.Signature.Time), rep.ResultsDue, t.PrimaryCompletion)}
		if first.Signature.Time.After(due) {
			fd.Status, fd.Kind = StatusViolation, KindLate
			fd.Detail = fmt.Sprintf("results posted late: at height %d (%s), after the deadline %s (primary completion %s + 12 months)", first.Signature.Height, day(first.Signature.Time), rep.ResultsDue, t.PrimaryCompletion)
		}
		add(fd)
	case now.After(due):
		add(Finding{Rule: RuleResultsDue, Status: StatusViolation, Kind: KindOverdue, Evidence: append(ev, headEv),
			Detail: fmt.Sprintf("results overdue: due by %s (primary completion %s + 12 months), none posted by block time %s", rep.ResultsDue, t.PrimaryCompletion, now.UTC().Format(time.RFC3339))})
	default:
		add(Finding{Rule: RuleResultsDue, Status: StatusPending, Evidence: ev,
			Detail: fmt.Sprintf("results due by %s (primary completion %s + 12 months); not yet due at block time %s", rep.ResultsDue, t.PrimaryCompletion, now.UTC().Format(time.RFC3339))})
	}

	// Consent version at enrolment.
	fd := Finding{Rule: RuleConsentVersion, Status: StatusEnforced, Evidence: []Evidence{headEv}}
	switch {
	case t.Enrolled == 0:
		fd.Status, fd.Detail = StatusPending, "no participant enrolled yet"
	case len(f.ConsentForms) == 0 || f.ConsentForms[0].Signature.Height > t.FirstEnrolment:
		fd.Status, fd.Detail = StatusViolation, fmt.Sprintf("first enrolment at height %d with no IRB-approved consent form before it", t.FirstEnrolment)
	default:
		cf := f.ConsentForms[0]
		fd.Evidence = append([]Evidence{sigEvidence("consent form version 1", consentFormKey(t.ID, 1), cf.Signature)}, fd.Evidence...)
		fd.Detail = fmt.Sprintf("consent form version 1 approved at height %d, before the first enrolment (height %d); %d versions approved, version %d in force. "+
			"The contract refuses an enrolment without the form in force (trials/9, trials/10) and data from a participant who has not re-consented to it (trials/10); refused transactions are not stored in the state, so none is listed",
			cf.Signature.Height, t.FirstEnrolment, len(f.ConsentForms), t.ConsentForm)
	}
	add(fd)

	// Data after withdrawal.
	fd = Finding{Rule: RuleWithdrawal, Status: StatusEnforced, Evidence: []Evidence{headEv},
		Detail: fmt.Sprintf("%d of %d participants withdrew; %d observations recorded. The contract refuses every observation after a withdrawal (trials/12) and leaves a withdrawn participant out of every dataset exported after it; refused transactions are not stored in the state, so none is listed",
			t.Withdrawn, t.Enrolled, t.Observations)}
	if t.Withdrawn == 0 {
		fd.Status = StatusPending
	}
	add(fd)

	for _, x := range rep.Findings {
		if x.Status == StatusViolation {
			rep.Violations++
		}
	}
	rep.Forms = formCounts(f.ConsentForms, act)
	rep.Timeline = timeline(f, act, due, dueOK)
	return rep
}

func firstPosting(ps []*Posting) *Posting {
	if len(ps) == 0 {
		return nil
	}
	return ps[0]
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func outcomeList(os []Outcome) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = fmt.Sprintf("%q (%s)", o.Measure, o.TimeFrame)
	}
	return strings.Join(s, ", ")
}

// describe says what a discrepancy means, in words.
func describe(d Discrepancy) string {
	switch d.Kind {
	case MissingPrimary:
		return fmt.Sprintf("pre-specified primary outcome %q is not reported", d.Measure)
	case MissingSecondary:
		return fmt.Sprintf("pre-specified secondary outcome %q is not reported", d.Measure)
	case NotPrespecified:
		return fmt.Sprintf("outcome %q was not pre-specified", d.Measure)
	case TimeFrameChanged:
		return fmt.Sprintf("outcome %q reported over %q, pre-specified over %q", d.Measure, d.Reported, d.Specified)
	case PrimaryDemoted:
		return fmt.Sprintf("pre-specified primary outcome %q reported as secondary", d.Measure)
	case SecondaryPromoted:
		return fmt.Sprintf("pre-specified secondary outcome %q reported as primary", d.Measure)
	}
	return d.Kind + " " + d.Measure
}

func formCounts(forms []*ConsentForm, act Activity) []FormCount {
	out := make([]FormCount, len(forms))
	for i := range forms {
		out[i].Form = uint32(i + 1)
	}
	for _, m := range act.Enrolments {
		if m.Form >= 1 && int(m.Form) <= len(out) {
			out[m.Form-1].Enrolled++
		}
	}
	for _, m := range act.Reconsents {
		if m.Form >= 1 && int(m.Form) <= len(out) {
			out[m.Form-1].Reconsents++
		}
	}
	return out
}

// timeline lists the trial's events in time order (ties by height, then in the order here).
func timeline(f *ReportFacts, act Activity, due time.Time, dueOK bool) []Event {
	var out []Event
	for _, v := range f.Versions {
		kind, label := "amendment", fmt.Sprintf("protocol version %d: %s", v.Number, strings.Join(v.Changes, ", "))
		if v.Number == 1 {
			kind, label = "registration", "registered (protocol version 1)"
		}
		if v.OutcomeSwitch {
			label += " (primary outcome switch)"
		}
		out = append(out, Event{Kind: kind, Label: label, Height: v.Signature.Height, Time: v.Signature.Time, Tx: v.Signature.Tx})
	}
	for _, d := range f.Decisions {
		kind := "review"
		if d.Signature.Meaning == Approval {
			kind = "approval"
		}
		out = append(out, Event{Kind: kind, Label: fmt.Sprintf("IRB %s of version %d", d.Signature.Meaning, d.Version), Height: d.Signature.Height, Time: d.Signature.Time, Tx: d.Signature.Tx})
	}
	for _, c := range f.ConsentForms {
		out = append(out, Event{Kind: "consent_form", Label: fmt.Sprintf("consent form version %d (%s)", c.Number, strings.Join(c.Categories, ", ")), Height: c.Signature.Height, Time: c.Signature.Time, Tx: c.Signature.Tx})
	}
	for _, m := range act.Enrolments {
		out = append(out, Event{Kind: "enrolment", Label: fmt.Sprintf("enrolment (consent form %d)", m.Form), Height: m.Height, Time: m.Time})
	}
	for _, m := range act.Reconsents {
		out = append(out, Event{Kind: "reconsent", Label: fmt.Sprintf("re-consent (consent form %d)", m.Form), Height: m.Height, Time: m.Time})
	}
	for _, m := range act.Withdrawals {
		out = append(out, Event{Kind: "withdrawal", Label: "withdrawal", Height: m.Height, Time: m.Time})
	}
	for _, x := range f.Exports {
		out = append(out, Event{Kind: "export", Label: fmt.Sprintf("dataset export %d (%d participants, %d records)", x.Number, x.Participants, x.Records), Height: x.Signature.Height, Time: x.Signature.Time, Tx: x.Signature.Tx})
	}
	for _, p := range f.Postings {
		label := fmt.Sprintf("results posting %d (%d discrepancies)", p.Number, len(p.Discrepancies))
		out = append(out, Event{Kind: "results", Label: label, Height: p.Signature.Height, Time: p.Signature.Time, Tx: p.Signature.Tx})
	}
	if dueOK {
		out = append(out, Event{Kind: "deadline", Label: "results due (primary completion + 12 months)", Time: due})
	}
	// Block times increase with height, so time order is ledger order; the deadline (a
	// date, no height) falls in place.
	slices.SortStableFunc(out, func(a, b Event) int { return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Height, b.Height)) })
	return out
}
