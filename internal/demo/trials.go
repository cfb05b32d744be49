package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// demoTrial is the id of the demo's trial; demoOverdue's results are overdue.
const (
	demoTrial   = "GLU-DEMO"
	demoOverdue = "GLU-OLD"
)

// playTrials is the demo's clinical-trial chapter: a sponsor registers a trial with
// pre-specified outcomes, the IRB (the auditor) approves it and its consent form, the
// patient consents and is enrolled by Dr Alice, a new consent form stops recording until
// re-consent, withdrawal stops it for good, the sponsor exports the dataset and posts
// results with a switched primary outcome, and the transparency report, verified against
// the node's app hash, shows it.
func playTrials(ctx context.Context, g *Env, cl *client.Client, pass []byte, chainID string, reg, alice, pat, irb *keys.Keystore) error {
	sponsor, _, err := keystore(g, pass, "acme-research")
	if err != nil {
		return err
	}
	sign := func(meaning trials.Meaning, reason string) trials.Sign {
		return trials.Sign{Meaning: meaning, Reason: reason}
	}
	digest := func(doc string) string { s := sha256.Sum256([]byte(doc)); return hex.EncodeToString(s[:]) }

	g.step("clinical trial: the registrar registers the sponsor Acme Research, which registers trial %s with its pre-specified outcomes", demoTrial)
	if _, err := cl.Send(ctx, reg, client.RegistrationFor(chainID, sponsor, identity.Provider, "Acme Research", "Acme Research", "SP-1")); err != nil {
		return err
	}
	hba1c := trials.Outcome{Measure: "HbA1c change", TimeFrame: "26 weeks"}
	p := trials.Protocol{Digest: digest("GLU-DEMO protocol v1"),
		Outcomes:         trials.Outcomes{Primary: []trials.Outcome{hba1c}, Secondary: []trials.Outcome{{Measure: "Body weight change", TimeFrame: "26 weeks"}}},
		PlannedEnrolment: 1, Arms: []trials.Arm{{Name: "drug"}, {Name: "placebo"}},
		Sites:             []trials.Site{{Name: "St Mary", Investigator: alice.ID}},
		PrimaryCompletion: time.Now().UTC().AddDate(0, 0, -30).Format("2006-01-02"),
		ResearchStudy:     []byte(`{"resourceType":"ResearchStudy","id":"glu-demo","status":"active","title":"GLU-DEMO: a glucose-lowering drug against placebo"}`),
		Categories:        []string{"general"}}
	if _, err := cl.Send(ctx, sponsor, &trials.RegisterBody{Trial: demoTrial, IRB: irb.ID, Protocol: p, Sign: sign(trials.Author, "initial registration")}); err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "    primary outcome %q over %s; site St Mary, investigator Dr Alice; IRB: the Compliance Office\n", hba1c.Measure, hba1c.TimeFrame)
	if err := registerOverdue(ctx, g, cl, sponsor, irb, p, sign); err != nil {
		return err
	}

	g.step("the IRB approves the protocol and publishes consent form v1")
	if _, err := cl.Send(ctx, irb, &trials.ApproveBody{Trial: demoTrial, Version: 1, Sign: sign(trials.Approval, "full board review")}); err != nil {
		return err
	}
	if _, err := cl.Send(ctx, irb, &trials.ConsentFormBody{Trial: demoTrial, Digest: digest("Informed consent v1"), Categories: []string{"general"},
		Sign: sign(trials.Approval, "consent document reviewed by the full board")}); err != nil {
		return err
	}

	g.step("the patient signs consent form v1 and grants research access (Dr Alice writes, the sponsor reads 'general'); Dr Alice enrols her")
	if _, err := cl.Grant(ctx, pat, consent.Grant{Grantee: alice.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Write}, Purposes: []string{consent.Research}}); err != nil {
		return err
	}
	if _, err := cl.Grant(ctx, pat, consent.Grant{Grantee: sponsor.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Research}}); err != nil {
		return err
	}
	if _, err := cl.Send(ctx, alice, &trials.EnrolBody{Trial: demoTrial, Participant: pat.ID, Site: "St Mary", Arm: "drug", ConsentForm: 1}); err != nil {
		return err
	}
	record := func(week int) error {
		obs := fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c"}]},"valueQuantity":{"value":%.1f,"unit":"%%"},"note":[{"text":"week %d"}]}`, 7.8-0.1*float64(week), week)
		_, err := cl.TrialRecord(ctx, alice, demoTrial, client.NewRecord{Patient: pat.ID, Category: "general", ResourceType: "Observation",
			ContentType: "application/fhir+json", Plaintext: []byte(obs)})
		return err
	}
	g.step("Dr Alice records the week-0 HbA1c as a trial observation")
	if err := record(0); err != nil {
		return err
	}

	g.step("the IRB publishes consent form v2 (new risk information); Dr Alice records week 4 before the patient re-consents")
	if _, err := cl.Send(ctx, irb, &trials.ConsentFormBody{Trial: demoTrial, Digest: digest("Informed consent v2: new risk information"), Categories: []string{"general"},
		Sign: sign(trials.Approval, "amended risk section")}); err != nil {
		return err
	}
	if err := record(4); err == nil {
		return errors.New("a trial observation was recorded before re-consent")
	} else {
		fmt.Fprintf(g.Out, "    refused by the contract: %v\n", err)
	}
	g.step("the patient re-consents to v2; the week-4 recording is accepted")
	if _, err := cl.Send(ctx, pat, &trials.ReconsentBody{Trial: demoTrial, ConsentForm: 2}); err != nil {
		return err
	}
	if err := record(4); err != nil {
		return err
	}
	g.step("the patient withdraws; Dr Alice tries to record week 8")
	if _, err := cl.Send(ctx, pat, &trials.WithdrawBody{Trial: demoTrial, Reason: "no longer wishes to take part"}); err != nil {
		return err
	}
	if err := record(8); err == nil {
		return errors.New("a trial observation was recorded after withdrawal")
	} else {
		fmt.Fprintf(g.Out, "    refused by the contract: %v\n", err)
	}

	g.step("the sponsor exports the pseudonymised dataset and posts results with 'Fasting glucose' as the primary outcome")
	ds, err := cl.As(sponsor).TrialDataset(ctx, demoTrial)
	if err != nil {
		return err
	}
	if got := trials.DatasetDigest(ds.Dataset.Encode()); got != ds.Digest {
		return fmt.Errorf("the dataset received hashes to %s, the node says %s", got, ds.Digest)
	}
	if _, err := cl.Send(ctx, sponsor, &trials.ExportBody{Trial: demoTrial, AsOf: ds.Height, Dataset: ds.Digest, Participants: ds.Dataset.Participants,
		Records: ds.Dataset.Records, Sign: sign(trials.Author, "final analysis dataset")}); err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "    dataset as of height %d: %d participants, %d records (the withdrawn patient's data is left out), sha256 %s..., recorded as an export\n",
		ds.Height, ds.Dataset.Participants, ds.Dataset.Records, ds.Digest[:16])
	if _, err := cl.Send(ctx, sponsor, &trials.ResultsBody{Trial: demoTrial, Dataset: ds.Digest,
		Outcomes: []trials.Reported{{Measure: "Fasting glucose", TimeFrame: "12 weeks", Primary: true, Result: "-1.2 mmol/L"},
			{Measure: "Body weight change", TimeFrame: "26 weeks", Result: "-1.4 kg"}},
		Sign: sign(trials.Author, "final analysis")}); err != nil {
		return err
	}

	g.step("anyone fetches the trial's transparency report and verifies it offline against the node's app hash")
	rep, trusted, err := verifiedTrialReport(ctx, g, cl, demoTrial)
	if err != nil {
		return err
	}
	for _, f := range rep.Report.Findings {
		kind := ""
		if f.Kind != "" {
			kind = " " + f.Kind
		}
		fmt.Fprintf(g.Out, "    %-9s %s%s: %s\n", strings.ToUpper(f.Status), f.Rule, kind, f.Detail)
	}
	fmt.Fprintf(g.Out, "    verified: %d state values at height %d against app hash %X\n", len(rep.Values), rep.Height, trusted)
	fmt.Fprintf(g.Out, "    (as HTML with its timeline: %s trial report %s --html %s.html)\n", g.CLI(cl.Base), demoTrial, demoTrial)
	return showOverdue(ctx, g, cl)
}

// registerOverdue registers a second trial of the sponsor whose primary completion
// passed 14 months before the last block: by block time, its results are overdue (FDAAA
// 801 gives 12 months), and none will be posted.
func registerOverdue(ctx context.Context, g *Env, cl *client.Client, sponsor, irb *keys.Keystore, p trials.Protocol, sign func(trials.Meaning, string) trials.Sign) error {
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	p.PrimaryCompletion = st.BlockTime.UTC().AddDate(0, -14, 0).Format(time.DateOnly)
	p.Digest = strings.Repeat("0", 63) + "1"
	p.ResearchStudy = []byte(`{"resourceType":"ResearchStudy","id":"glu-old","status":"completed","title":"GLU-OLD: an earlier dose-finding study"}`)
	g.step("Acme Research also registers trial %s, whose primary completion %s is 14 months before the last block; the IRB approves it; no results are ever posted", demoOverdue, p.PrimaryCompletion)
	if _, err := cl.Send(ctx, sponsor, &trials.RegisterBody{Trial: demoOverdue, IRB: irb.ID, Protocol: p, Sign: sign(trials.Author, "registration")}); err != nil {
		return err
	}
	_, err = cl.Send(ctx, irb, &trials.ApproveBody{Trial: demoOverdue, Version: 1, Sign: sign(trials.Approval, "full board review")})
	return err
}

// showOverdue prints the regulator's cross-trial view (every page of GET
// /v1/trials/report) and the overdue trial's verified results finding.
func showOverdue(ctx context.Context, g *Env, cl *client.Client) error {
	g.step("the regulator's view across all trials: %s's results are overdue by block time", demoOverdue)
	all, err := cl.TrialsReport(ctx)
	if err != nil {
		return err
	}
	for _, f := range all.Trials {
		state := "on time"
		switch {
		case f.Overdue:
			state = "RESULTS OVERDUE"
		case f.Late:
			state = "results late"
		}
		fmt.Fprintf(g.Out, "    %-9s results due %s  %-15s  %d violation(s)\n", f.ID, f.ResultsDue, state, f.Violations)
	}
	rep, _, err := verifiedTrialReport(ctx, g, cl, demoOverdue)
	if err != nil {
		return err
	}
	for _, f := range rep.Report.Findings {
		if f.Rule == trials.RuleResultsDue {
			fmt.Fprintf(g.Out, "    %-9s %s %s: %s\n", strings.ToUpper(f.Status), f.Rule, f.Kind, f.Detail)
		}
	}
	fmt.Fprintf(g.Out, "    (the overdue list: %s trial list --overdue)\n", g.CLI(cl.Base))
	return nil
}

// verifiedTrialReport fetches a trial's transparency report and verifies it offline against
// the node's app hash at the report's height, which it returns too.
func verifiedTrialReport(ctx context.Context, g *Env, cl *client.Client, id string) (*wire.TrialReport, []byte, error) {
	var rep *wire.TrialReport
	trusted, err := g.AppHashAt(ctx, cl, func() (int64, error) {
		var err error
		rep, err = cl.TrialReport(ctx, id)
		if err != nil {
			return 0, err
		}
		return rep.Height, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := rep.Verify(trusted); err != nil {
		return nil, nil, fmt.Errorf("the report of trial %s does not verify: %w", id, err)
	}
	return rep, trusted, nil
}
