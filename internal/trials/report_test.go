package trials

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	t0      = time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)
	hba1c   = Outcome{Measure: "HbA1c change", TimeFrame: "26 weeks"}
	weight  = Outcome{Measure: "Body weight change", TimeFrame: "26 weeks"}
	glucose = Outcome{Measure: "Fasting glucose", TimeFrame: "12 weeks"}
)

// at is a signature at height h, h days after t0.
func at(h int64, meaning Meaning, reason string) Signature {
	return Signature{Signer: "s", Meaning: meaning, Reason: reason, Height: h, Time: t0.AddDate(0, 0, int(h)), Tx: fmt.Sprintf("tx%d", h)}
}

func protocol(completion string, primary ...Outcome) Protocol {
	return Protocol{Outcomes: Outcomes{Primary: primary, Secondary: []Outcome{weight}}, PlannedEnrolment: 3,
		PrimaryCompletion: completion, ResearchStudy: []byte(`{"resourceType":"ResearchStudy","status":"active","title":"GLU-3"}`)}
}

// story is a trial registered at height 1, approved at 2, consent form at 3 and three
// participants enrolled at 4-6 under protocol version 1; one withdrew at 8.
func story() (*ReportFacts, Activity) {
	t := &Trial{ID: "GLU-3", Sponsor: "sp", IRB: "irb", Head: 1, Approved: 1, Decisions: 1, PrimaryCompletion: "2024-12-01",
		RegisteredAt: 1, RegisteredTime: t0.AddDate(0, 0, 1), Enrolled: 3, FirstEnrolment: 4, Baseline: 1, ConsentForm: 1, Withdrawn: 1, Observations: 5}
	f := &ReportFacts{Trial: t,
		Versions:     []*Version{{Number: 1, Protocol: protocol("2024-12-01", hba1c), Signature: at(1, Author, "initial")}},
		Decisions:    []*Decision{{Number: 1, Version: 1, Signature: at(2, Approval, "board")}},
		ConsentForms: []*ConsentForm{{Number: 1, Categories: []string{"general"}, Protocol: 1, Signature: at(3, Approval, "v1")}},
	}
	a := Activity{Enrolments: []Mark{{4, t0.AddDate(0, 0, 4), 1}, {5, t0.AddDate(0, 0, 5), 1}, {6, t0.AddDate(0, 0, 6), 1}},
		Reconsents: []Mark{}, Withdrawals: []Mark{{8, t0.AddDate(0, 0, 8), 0}}}
	return f, a
}

// post adds a results posting at height h compared with version 1.
func post(f *ReportFacts, h int64, outcomes ...Reported) {
	n := uint32(len(f.Postings) + 1)
	f.Postings = append(f.Postings, &Posting{Number: n, Outcomes: outcomes, ComparedWith: 1, Signature: at(h, Author, "results")})
	f.Trial.Results = n
}

func rep(o Outcome, primary bool) Reported {
	return Reported{Measure: o.Measure, TimeFrame: o.TimeFrame, Primary: primary, Result: "x"}
}

// amend adds protocol version n+1 at height h with the given protocol.
func amend(f *ReportFacts, h int64, p Protocol) {
	prev := f.Versions[len(f.Versions)-1]
	v := &Version{Number: prev.Number + 1, Protocol: p, Signature: at(h, Author, "amendment"), Changes: Changes(&prev.Protocol, &p)}
	v.OutcomeSwitch = PrimarySwitched(&prev.Protocol, &p) && f.Trial.Enrolled > 0
	f.Versions = append(f.Versions, v)
	f.Trial.Head, f.Trial.PrimaryCompletion = v.Number, p.PrimaryCompletion
}

// found lists a report's findings as "rule status [kind]".
func found(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		s := f.Rule + " " + f.Status
		if f.Kind != "" {
			s += " " + f.Kind
		}
		out = append(out, s)
	}
	return out
}

func TestReportFindings(t *testing.T) {
	before := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) // results not yet due (2025-12-01)
	after := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)  // past the deadline
	onTime := func(f *ReportFacts) { post(f, 300, rep(hba1c, true), rep(weight, false)) }
	for _, c := range []struct {
		name  string
		setup func(*ReportFacts)
		now   time.Time
		want  []string // findings besides the registration, approval, consent and withdrawal ones, which hold throughout
	}{
		{"as registered, not yet due", func(*ReportFacts) {}, before,
			[]string{"reported_outcomes pending", "results_due pending"}},
		{"results overdue: block time past the deadline, none posted", func(*ReportFacts) {}, after,
			[]string{"reported_outcomes pending", "results_due violation overdue"}},
		{"results as registered, on time", onTime, after,
			[]string{"reported_outcomes ok", "results_due ok"}},
		{"results posted late", func(f *ReportFacts) {
			f.Postings = append(f.Postings, &Posting{Number: 1, Outcomes: []Reported{rep(hba1c, true), rep(weight, false)}, ComparedWith: 1,
				Signature: Signature{Height: 900, Time: after, Tx: "late"}})
			f.Trial.Results = 1
		}, after, []string{"reported_outcomes ok", "results_due violation late"}},
		{"primary outcome switched at results time", func(f *ReportFacts) {
			post(f, 300, rep(hba1c, false), rep(weight, true))
		}, before, []string{"reported_outcomes violation primary_demoted", "reported_outcomes violation secondary_promoted", "results_due ok"}},
		{"primary replaced by a new outcome at results time", func(f *ReportFacts) {
			post(f, 300, rep(glucose, true), rep(weight, false))
		}, before, []string{"reported_outcomes violation missing_primary", "reported_outcomes violation not_prespecified", "results_due ok"}},
		{"a new outcome added", func(f *ReportFacts) {
			post(f, 300, rep(hba1c, true), rep(weight, false), rep(Outcome{"Hypoglycaemia events", "26 weeks"}, false))
		}, before, []string{"reported_outcomes violation not_prespecified", "results_due ok"}},
		{"a time frame changed", func(f *ReportFacts) {
			post(f, 300, rep(Outcome{hba1c.Measure, "52 weeks"}, true), rep(weight, false))
		}, before, []string{"reported_outcomes violation time_frame_changed", "results_due ok"}},
		{"secondary left out", func(f *ReportFacts) { post(f, 300, rep(hba1c, true)) }, before,
			[]string{"reported_outcomes violation missing_secondary", "results_due ok"}},
		{"primary outcome switched by amendment after enrolment", func(f *ReportFacts) {
			amend(f, 20, protocol("2024-12-01", glucose))
			onTime(f) // compared with version 1, the baseline: as registered
		}, after, []string{"outcome_switch violation", "reported_outcomes ok", "results_due ok"}},
		{"primary outcome switched by amendment in the first enrolment's block, after it", func(f *ReportFacts) {
			amend(f, 4, protocol("2024-12-01", glucose)) // the contract flags it: Enrolled > 0 when it ran
		}, before, []string{"outcome_switch violation", "reported_outcomes pending", "results_due pending"}},
		{"primary outcome changed by amendment before enrolment", func(f *ReportFacts) {
			f.Trial.Enrolled = 0
			amend(f, 4, protocol("2024-12-01", glucose)) // not flagged: nobody was enrolled when it ran
			f.Trial.Enrolled = 3
		}, before, []string{"reported_outcomes pending", "results_due pending"}},
		{"deadline moved after it passed", func(f *ReportFacts) {
			amend(f, 720, protocol("2025-12-01", hba1c)) // day 720: 2025-12-30, past 2025-12-01
		}, after, []string{"deadline_moved violation", "reported_outcomes pending", "results_due pending"}},
		{"deadline moved before it passed", func(f *ReportFacts) {
			amend(f, 100, protocol("2025-12-01", hba1c))
		}, after, []string{"reported_outcomes pending", "results_due pending"}},
		{"analysis dataset is an export", func(f *ReportFacts) {
			f.Exports = []*Export{{Number: 1, AsOf: 250, Digest: strings.Repeat("d", 64), Participants: 2, Records: 5, Signature: at(260, Author, "export")}}
			onTime(f)
			f.Postings[0].Dataset = strings.Repeat("d", 64)
		}, after, []string{"reported_outcomes ok", "analysis_dataset ok", "results_due ok"}},
		{"analysis dataset matches no export", func(f *ReportFacts) {
			onTime(f)
			f.Postings[0].Dataset = strings.Repeat("e", 64)
		}, after, []string{"reported_outcomes ok", "analysis_dataset violation", "results_due ok"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, a := story()
			c.setup(f)
			r := BuildReport(f, a, 1000, c.now)
			var got []string
			for _, s := range found(r) {
				switch s {
				case "registered_before_enrolment ok", "approved_before_enrolment ok", "consent_version enforced", "data_after_withdrawal enforced":
				default:
					got = append(got, s)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("findings %q, want %q\nall: %q", got, c.want, found(r))
			}
			violations := 0
			for _, s := range found(r) {
				if strings.Contains(s, " violation") {
					violations++
				}
			}
			if r.Violations != violations {
				t.Fatalf("violations %d, counted %d", r.Violations, violations)
			}
			for _, fd := range r.Findings {
				if len(fd.Evidence) == 0 || fd.Detail == "" {
					t.Fatalf("finding %s has no evidence or detail: %+v", fd.Rule, fd)
				}
			}
		})
	}
}

// TestReportOrderOfEvents: the report states registration before the first enrolment
// with both heights; if the records said otherwise (the contract refuses that order,
// internal/app TestTrialStory: trials/3) the report would show it as a violation, and the
// same for approval and the consent form.
func TestReportOrderOfEvents(t *testing.T) {
	f, a := story()
	r := BuildReport(f, a, 10, t0)
	if got := r.Findings[0]; got.Rule != RuleRegisteredFirst || got.Status != StatusOK ||
		!strings.Contains(got.Detail, "registered at height 1 (2024-01-11), first enrolment at height 4 > 1") ||
		got.Evidence[0].Tx != "tx1" || got.Evidence[0].Key != "trialv/GLU-3/0000000001" {
		t.Fatalf("registration finding %+v", got)
	}
	// Registration, approval, consent form and first enrolment in one block: the state
	// does not keep their order, the contract refused any other, so it holds.
	f.Trial.FirstEnrolment, f.Trial.RegisteredAt = 1, 1
	f.Decisions[0].Signature.Height, f.ConsentForms[0].Signature.Height = 1, 1
	r = BuildReport(f, a, 10, t0)
	if r.Violations != 0 || !strings.Contains(r.Findings[0].Detail, "first enrolment in the same block, after it") {
		t.Fatalf("one block: %q\n%s", found(r), r.Findings[0].Detail)
	}
	// Records that said otherwise would be violations.
	f.Trial.RegisteredAt = 2
	f.Decisions[0].Signature.Height, f.ConsentForms[0].Signature.Height = 2, 2
	r = BuildReport(f, a, 10, t0)
	want := map[string]string{RuleRegisteredFirst: StatusViolation, RuleApprovedFirst: StatusViolation, RuleConsentVersion: StatusViolation}
	for _, fd := range r.Findings {
		if w, ok := want[fd.Rule]; ok && fd.Status != w {
			t.Errorf("%s: %s, want %s (%s)", fd.Rule, fd.Status, w, fd.Detail)
		}
	}
	// Nobody enrolled: nothing to judge yet.
	f, _ = story()
	f.Trial.Enrolled, f.Trial.FirstEnrolment, f.Trial.Withdrawn = 0, 0, 0
	r = BuildReport(f, Activity{}, 3, t0)
	if got := found(r); !slices.Contains(got, "registered_before_enrolment pending") || !slices.Contains(got, "consent_version pending") || slices.Contains(got, "approved_before_enrolment ok") {
		t.Fatalf("findings before any enrolment: %q", got)
	}
}

// TestReportTimelineAndCounts: the timeline holds every kind of event in order, the
// deadline included; consent-form counts come from the activity.
func TestReportTimelineAndCounts(t *testing.T) {
	f, a := story()
	f.ConsentForms = append(f.ConsentForms, &ConsentForm{Number: 2, Categories: []string{"general"}, Signature: at(7, Approval, "v2")})
	f.Trial.ConsentForm = 2
	a.Reconsents = []Mark{{Height: 9, Time: t0.AddDate(0, 0, 9), Form: 2}}
	amend(f, 20, protocol("2024-12-01", glucose))
	f.Exports = []*Export{{Number: 1, AsOf: 250, Digest: strings.Repeat("d", 64), Signature: at(260, Author, "export")}}
	post(f, 300, rep(hba1c, true))
	r := BuildReport(f, a, 1000, t0.AddDate(3, 0, 0))
	var kinds []string
	for i, e := range r.Timeline {
		kinds = append(kinds, e.Kind)
		if i > 0 && e.Time.Before(r.Timeline[i-1].Time) {
			t.Fatalf("timeline out of order at %d: %+v", i, r.Timeline)
		}
	}
	want := []string{"registration", "approval", "consent_form", "enrolment", "enrolment", "enrolment", "consent_form", "withdrawal", "reconsent", "amendment", "export", "results", "deadline"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("timeline %q, want %q", kinds, want)
	}
	if !slices.Equal(r.Forms, []FormCount{{Form: 1, Enrolled: 3}, {Form: 2, Reconsents: 1}}) {
		t.Fatalf("form counts %+v", r.Forms)
	}
	if err := a.Consistent(f.Trial); err != nil {
		t.Fatal(err)
	}
	a.Withdrawals = nil
	if err := a.Consistent(f.Trial); err == nil {
		t.Fatal("an activity with fewer withdrawals than the trial record counts is consistent")
	}
	_, a = story()
	a.Enrolments[0].Height = 2
	if err := a.Consistent(f.Trial); err == nil {
		t.Fatal("an activity whose first enrolment is not the trial record's is consistent")
	}
	_, a = story()
	a.Reconsents = []Mark{{Height: 9, Form: 3}}
	if err := a.Consistent(f.Trial); err == nil {
		t.Fatal("an activity with a signature of a consent form the trial does not have is consistent")
	}
	a.Reconsents = []Mark{{Height: 3, Form: 2}}
	if err := a.Consistent(f.Trial); err == nil {
		t.Fatal("an activity with a re-consent before the first enrolment is consistent")
	}
}

// TestActivityOf counts enrolments, re-consents and withdrawals without ids, in height order.
func TestActivityOf(t *testing.T) {
	es := []*Enrolment{
		{Participant: "p2", Consents: []Consent{{Form: 1, Height: 5}, {Form: 2, Height: 9}}},
		{Participant: "p1", Consents: []Consent{{Form: 1, Height: 4}}, Withdrawal: &Withdrawal{Height: 8}},
	}
	a := ActivityOf(es)
	if len(a.Enrolments) != 2 || a.Enrolments[0].Height != 4 || len(a.Reconsents) != 1 || a.Reconsents[0].Form != 2 || len(a.Withdrawals) != 1 {
		t.Fatalf("activity %+v", a)
	}
}
