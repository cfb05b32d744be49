package api_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// trialNode is a real node with a sponsor-investigator, an IRB and two participants.
type trialNode struct {
	t            *testing.T
	ctx          context.Context
	c            *client.Client
	sponsor, irb *keys.Keystore
	p1, p2       *keys.Keystore
	r            *nodetest.Running
}

func newTrialNode(t *testing.T) *trialNode {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	n := &trialNode{t: t, ctx: ctx, c: r.Client, r: r}
	chainID, _ := n.c.ChainIDOf(ctx)
	mk := func(name string, role identity.Role, licence string) *keys.Keystore {
		ks, err := keys.NewKeystore(name)
		if err != nil {
			t.Fatal(err)
		}
		if role == identity.Patient { // patients register themselves
			n.send(ks, client.RegistrationFor(chainID, ks, role, "", "", ""))
		} else {
			n.send(reg, client.RegistrationFor(chainID, ks, role, name, "St Mary", licence))
		}
		return ks
	}
	n.sponsor, n.irb = mk("dr-sponsor", identity.Provider, "MD-1"), mk("irb", identity.Auditor, "")
	n.p1, n.p2 = mk("p1", identity.Patient, ""), mk("p2", identity.Patient, "")
	return n
}

func (n *trialNode) send(ks *keys.Keystore, body tx.Body) {
	n.t.Helper()
	if _, err := n.c.Send(n.ctx, ks, body); err != nil {
		n.t.Fatalf("%T by %s: %v", body, ks.Name, err)
	}
}

// story registers GLU-3 (primary completion 2020: results long overdue), approves it,
// enrols both participants under consent form 1, and p2 withdraws.
func (n *trialNode) story() {
	hba1c := trials.Outcome{Measure: "HbA1c change", TimeFrame: "26 weeks"}
	n.send(n.sponsor, &trials.RegisterBody{Trial: "GLU-3", IRB: n.irb.ID, Sign: trials.Sign{Meaning: trials.Author, Reason: "registration"},
		Protocol: trials.Protocol{Digest: strings.Repeat("ab", 32), PlannedEnrolment: 3,
			Outcomes:          trials.Outcomes{Primary: []trials.Outcome{hba1c}, Secondary: []trials.Outcome{{Measure: "Body weight change", TimeFrame: "26 weeks"}}},
			Arms:              []trials.Arm{{Name: "drug"}},
			Sites:             []trials.Site{{Name: "St Mary", Investigator: n.sponsor.ID}},
			PrimaryCompletion: "2020-01-01",
			ResearchStudy:     []byte(`{"resourceType":"ResearchStudy","status":"active","title":"GLU-3"}`)}})
	n.send(n.irb, &trials.ApproveBody{Trial: "GLU-3", Version: 1, Sign: trials.Sign{Meaning: trials.Approval, Reason: "full board"}})
	n.send(n.irb, &trials.ConsentFormBody{Trial: "GLU-3", Digest: strings.Repeat("cd", 32), Categories: []string{"general"},
		Sign: trials.Sign{Meaning: trials.Approval, Reason: "consent v1"}})
	for _, p := range []*keys.Keystore{n.p1, n.p2} {
		n.send(p, &consent.GrantBody{Grant: consent.Grant{Grantee: n.sponsor.ID, Actions: []string{consent.Write}, Purposes: []string{consent.Research}}})
		n.send(n.sponsor, &trials.EnrolBody{Trial: "GLU-3", Participant: p.ID, Site: "St Mary", Arm: "drug", ConsentForm: 1})
	}
	n.send(n.p2, &trials.WithdrawBody{Trial: "GLU-3"})
}

// trusted is GLU-3's report with the app hash the node committed at its height (read from
// the node's status at that height, not from the report).
func (n *trialNode) trusted() (*wire.TrialReport, []byte) {
	n.t.Helper()
	for n.ctx.Err() == nil {
		rep, err := n.c.TrialReport(n.ctx, "GLU-3")
		if err != nil {
			n.t.Fatal(err)
		}
		st, err := n.c.Status(n.ctx)
		if err != nil {
			n.t.Fatal(err)
		}
		if st.Height == rep.Height {
			h, err := hex.DecodeString(st.AppHash)
			if err != nil {
				n.t.Fatal(err)
			}
			return rep, h
		}
	}
	n.t.Fatal("no status at the report's height before the deadline")
	return nil, nil
}

// clone is a deep copy of a report answer, through JSON.
func clone(t *testing.T, r *wire.TrialReport) *wire.TrialReport {
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out wire.TrialReport
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func findingStatus(r *trials.Report, rule, kind string) string {
	for _, f := range r.Findings {
		if f.Rule == rule && f.Kind == kind {
			return f.Status
		}
	}
	return ""
}

// TestTrialReportOverHTTP: the public report of a trial on a real node verifies offline
// against the committed app hash and shows the deceptions (results overdue, then a switched
// primary outcome and a new one); a flipped byte in a proof, a changed value, a left-out
// value, a changed finding and an activity the proven counts contradict each fail; no
// participant id is in the answer; the regulator's view counts the violations.
func TestTrialReportOverHTTP(t *testing.T) {
	n := newTrialNode(t)
	if _, err := n.c.TrialReport(n.ctx, "GLU-3"); err == nil {
		t.Fatal("a report of an unregistered trial")
	} else {
		clientErr(t, "report of an unregistered trial", err, http.StatusNotFound, trials.Space, trials.CodeNotRegistered)
	}
	n.story()

	rep, h := n.trusted()
	if err := rep.Verify(h); err != nil {
		t.Fatalf("the report does not verify: %v", err)
	}
	if got := findingStatus(rep.Report, trials.RuleResultsDue, trials.KindOverdue); got != trials.StatusViolation {
		t.Fatalf("results overdue: %q in %+v", got, rep.Report.Findings)
	}
	if rep.Report.Findings[0].Status != trials.StatusOK || !strings.Contains(rep.Report.Findings[0].Detail, "first enrolment at height") {
		t.Fatalf("registration finding %+v", rep.Report.Findings[0])
	}
	if len(rep.Activity.Enrolments) != 2 || len(rep.Activity.Withdrawals) != 1 || rep.Report.Withdrawn != 1 {
		t.Fatalf("activity %+v", rep.Activity)
	}
	raw, _ := json.Marshal(rep)
	for _, p := range []*keys.Keystore{n.p1, n.p2} {
		if bytes.Contains(raw, []byte(p.ID)) {
			t.Fatalf("the public report names participant %s", p.ID)
		}
	}

	// Results that switch the primary outcome and add one.
	n.send(n.sponsor, &trials.ResultsBody{Trial: "GLU-3", Sign: trials.Sign{Meaning: trials.Author, Reason: "results"}, Outcomes: []trials.Reported{
		{Measure: "HbA1c change", TimeFrame: "26 weeks", Primary: false, Result: "-0.4%"},
		{Measure: "Fasting glucose", TimeFrame: "12 weeks", Primary: true, Result: "-1.1 mmol/l"},
		{Measure: "Body weight change", TimeFrame: "26 weeks", Result: "-2 kg"}}})
	rep, h = n.trusted()
	if err := rep.Verify(h); err != nil {
		t.Fatalf("the report does not verify: %v", err)
	}
	for _, k := range []struct{ rule, kind string }{{trials.RuleOutcomes, trials.PrimaryDemoted}, {trials.RuleOutcomes, trials.NotPrespecified}, {trials.RuleResultsDue, trials.KindLate}} {
		if got := findingStatus(rep.Report, k.rule, k.kind); got != trials.StatusViolation {
			t.Errorf("%s %s: %q", k.rule, k.kind, got)
		}
	}

	for _, c := range []struct {
		name   string
		tamper func(r *wire.TrialReport)
	}{
		{"a flipped byte in a proof", func(r *wire.TrialReport) { r.Values[0].Proof.Map[len(r.Values[0].Proof.Map)/2] ^= 1 }},
		{"a changed value", func(r *wire.TrialReport) {
			last := &r.Values[len(r.Values)-1] // the results posting
			last.Value = bytes.Replace(last.Value, []byte(`"primary":true`), []byte(`"primary":false`), 1)
		}},
		{"a value left out", func(r *wire.TrialReport) { r.Values = r.Values[:len(r.Values)-1] }},
		{"a changed finding", func(r *wire.TrialReport) {
			for i, f := range r.Report.Findings {
				if f.Kind == trials.PrimaryDemoted {
					r.Report.Findings[i].Status = trials.StatusOK
				}
			}
		}},
		{"a finding left out", func(r *wire.TrialReport) { r.Report.Findings = r.Report.Findings[1:] }},
		{"an activity the proven counts contradict", func(r *wire.TrialReport) { r.Activity.Withdrawals = nil }},
		{"a block time before the results", func(r *wire.TrialReport) { r.BlockTime = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"a report claiming another height", func(r *wire.TrialReport) { r.Height-- }},
	} {
		bad := clone(t, rep)
		c.tamper(bad)
		if err := bad.Verify(h); err == nil {
			t.Errorf("%s: the report still verifies", c.name)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	if err := clone(t, rep).Verify(h); err != nil {
		t.Fatalf("a clean copy does not verify: %v", err)
	}

	all, err := n.c.TrialsReport(n.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Trials) != 1 {
		t.Fatalf("cross-trial view %+v", all)
	}
	if f := all.Trials[0]; f.ID != "GLU-3" || !f.Late || f.Overdue || f.Discrepancies != 2 || f.Violations != 3 {
		t.Fatalf("cross-trial line %+v (report %+v)", f, rep.Report.Findings)
	}
}
