package trials

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// ExecEnrol enrols a participant. The trial must be registered (so registration always
// precedes the first enrolment in the ledger's order) and the version in force approved
// by its IRB; the signer must be the investigator of the named site. The participant has
// signed the consent form in force and granted the investigator research access to the
// categories it names.
func ExecEnrol(st Store, env identity.Env, signer string, b *EnrolBody) *tx.Error {
	t, err := mustTrial(st, b.Trial)
	if err != nil {
		if err.Code == CodeNotRegistered {
			return Space.Err(CodeNotRegistered, "trial %s is not registered: no participant is enrolled before the trial's registration", b.Trial)
		}
		return err
	}
	if err := requireRole(env, signer, identity.Provider, "enrols participants"); err != nil {
		return err
	}
	if t.Approved != t.Head {
		if t.Approved == 0 {
			return Space.Err(CodeNotApproved, "trial %s has no IRB approval yet; no participant is enrolled before it", t.ID)
		}
		return Space.Err(CodeNotApproved, "trial %s's protocol version %d is not approved by its IRB (version %d was); enrolment waits for the approval", t.ID, t.Head, t.Approved)
	}
	v := GetVersion(st, t.ID, t.Head)
	var site *Site
	for i := range v.Sites {
		if v.Sites[i].Name == b.Site {
			site = &v.Sites[i]
		}
	}
	if site == nil {
		return Space.Err(CodeNotFound, "trial %s version %d has no site %q", t.ID, v.Number, b.Site)
	}
	if site.Investigator != signer {
		return Space.Err(CodeUnauthorized, "site %q of trial %s is led by %s; %s may not enrol there", site.Name, t.ID, site.Investigator, signer)
	}
	arm := false
	for _, a := range v.Arms {
		arm = arm || a.Name == b.Arm
	}
	if !arm {
		return Space.Err(CodeNotFound, "trial %s version %d has no arm %q", t.ID, v.Number, b.Arm)
	}
	if err := activeAs(st, b.Participant, identity.Patient, "participant"); err != nil {
		return err
	}
	if prev := GetEnrolment(st, t.ID, b.Participant); prev != nil {
		return Space.Err(CodeDuplicate, "participant %s was enrolled in trial %s at height %d", b.Participant, t.ID, prev.Height)
	}
	if err := consentedForm(t, b.ConsentForm, "participant "+b.Participant); err != nil {
		return err
	}
	form := GetConsentForm(st, t.ID, b.ConsentForm)
	if err := researchConsent(st, env.Signer, b.Participant, form.Categories, nil, env.Time); err != nil {
		return err
	}
	e := Enrolment{Participant: b.Participant, Site: b.Site, Arm: b.Arm, Investigator: signer, Version: v.Number,
		Height: env.Height, Time: env.Time.UTC(), Tx: env.TxHash, ConsentForm: form.Number,
		Consents: []Consent{{Form: form.Number, Height: env.Height, Time: env.Time.UTC(), Tx: env.TxHash}},
		Code:     ParticipantCode(t.ID, b.Participant, env.TxHash)}
	if t.Enrolled == 0 {
		t.FirstEnrolment, t.Baseline = env.Height, v.Number
	}
	t.Enrolled++
	save(st, enrolKey(t.ID, b.Participant), &e)
	save(st, trialKey(t.ID), t)
	ev := event(env, signer, ActionEnrol, t.ID)
	ev.Patient, ev.Version, ev.Digest = b.Participant, v.Number, form.Digest
	ev.Reason = fmt.Sprintf("participant %d of %d planned, site %q, arm %q, consent form version %d", t.Enrolled, v.PlannedEnrolment, b.Site, b.Arm, form.Number)
	st.Append(ev.Encode())
	return nil
}
