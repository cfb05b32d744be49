// Package trialstest holds a transparency report with every kind of timeline event, which
// the tests of trials and of its page share.
package trialstest

import (
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/trials"
)

// SampleReport is a trial with every kind of timeline event: registered, reviewed and
// approved, two consent forms, three enrolments, a re-consent and a withdrawal, an
// amendment switching the primary outcome, an export, late results with a switched
// primary outcome and the deadline.
func SampleReport() *trials.Report {
	t0 := time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)
	sig := func(h int64) trials.Signature {
		return trials.Signature{Signer: "s", Height: h, Time: t0.AddDate(0, 0, int(h)), Tx: strings.Repeat("a", 63) + string(rune('0'+h%10)), Reason: "r"}
	}
	hba1c, weight := trials.Outcome{Measure: "HbA1c change", TimeFrame: "26 weeks"}, trials.Outcome{Measure: "Body weight", TimeFrame: "26 weeks"}
	p := trials.Protocol{Outcomes: trials.Outcomes{Primary: []trials.Outcome{hba1c}, Secondary: []trials.Outcome{weight}}, PlannedEnrolment: 3,
		PrimaryCompletion: "2024-12-01", ResearchStudy: []byte(`{"resourceType":"ResearchStudy","id":"glu-3","status":"active","title":"GLU-3 <phase 3>"}`)}
	p2 := p
	p2.Outcomes.Primary = []trials.Outcome{{Measure: "Fasting glucose", TimeFrame: "12 weeks"}}
	f := &trials.ReportFacts{
		Trial: &trials.Trial{ID: "GLU-3", Sponsor: "sp", IRB: "irb", Head: 2, Approved: 2, Decisions: 3, PrimaryCompletion: "2024-12-01",
			RegisteredAt: 1, RegisteredTime: t0.AddDate(0, 0, 1), Enrolled: 3, FirstEnrolment: 5, Baseline: 1, ConsentForm: 2, Withdrawn: 1,
			Observations: 4, Exports: 1, Results: 1},
		Versions: []*trials.Version{{Number: 1, Protocol: p, Signature: sig(1)},
			{Number: 2, Protocol: p2, Signature: sig(20), Changes: []string{"outcomes.primary"}, OutcomeSwitch: true}},
		Decisions: []*trials.Decision{{Number: 1, Version: 1, Signature: sig(2)}, {Number: 2, Version: 1, Signature: sig(3)}, {Number: 3, Version: 2, Signature: sig(21)}},
		ConsentForms: []*trials.ConsentForm{{Number: 1, Categories: []string{"general"}, Signature: sig(4)},
			{Number: 2, Categories: []string{"general"}, Signature: sig(8)}},
		Exports: []*trials.Export{{Number: 1, AsOf: 300, Digest: strings.Repeat("d", 64), Participants: 2, Records: 4, Signature: sig(310)}},
		Postings: []*trials.Posting{{Number: 1, ComparedWith: 1, Dataset: strings.Repeat("d", 64), Signature: sig(500),
			Outcomes: []trials.Reported{{Measure: "HbA1c change", TimeFrame: "26 weeks", Result: "x"}, {Measure: "Body weight", TimeFrame: "26 weeks", Primary: true, Result: "y"}}}},
	}
	f.Decisions[0].Signature.Meaning = trials.Review
	f.Decisions[1].Signature.Meaning, f.Decisions[2].Signature.Meaning = trials.Approval, trials.Approval
	day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
	act := trials.Activity{Enrolments: []trials.Mark{{Height: 5, Time: day(5), Form: 1}, {Height: 6, Time: day(6), Form: 1}, {Height: 7, Time: day(7), Form: 1}},
		Reconsents: []trials.Mark{{Height: 9, Time: day(9), Form: 2}}, Withdrawals: []trials.Mark{{Height: 10, Time: day(10)}}}
	return trials.BuildReport(f, act, 600, day(600))
}
