package trials

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Participants act on their own enrolment: they re-consent to a new consent form and they
// withdraw.
//
// Withdrawal and the research grant are separate acts, and either stops collection. A
// withdrawal is the trial act: it is final, refuses every later observation (CodeWithdrawn)
// and re-consent, and takes the participant out of every dataset exported after it (what
// earlier export events used stays on the ledger as it was). It does not revoke the
// participant's grants: revoking rotates category keys, which only the patient's client
// can do (consent tx 21, `ehrchain consent revoke`). Revoking the investigator's research
// grant without withdrawing stops observations (CodeNoResearchConsent) while the
// participant stays enrolled and may grant again; revoking the sponsor's read grant takes
// the records it covered out of later exports.

// enrolled loads the signer's own, not withdrawn, enrolment.
func enrolled(st Reader, env identity.Env, signer string, t *Trial, act string) (*Enrolment, *tx.Error) {
	if err := requireRole(env, signer, identity.Patient, act); err != nil {
		return nil, err
	}
	e := GetEnrolment(st, t.ID, signer)
	if e == nil {
		return nil, Space.Err(CodeNotEnrolled, "%s is not enrolled in trial %s", signer, t.ID)
	}
	if e.Withdrawal != nil {
		return nil, Space.Err(CodeWithdrawn, "%s withdrew from trial %s at height %d", signer, t.ID, e.Withdrawal.Height)
	}
	return e, nil
}

// ExecReconsent records the participant's signature of the consent form in force. The
// research grant to the enrolling investigator must cover the new form's categories.
func ExecReconsent(st Store, env identity.Env, signer string, b *ReconsentBody) *tx.Error {
	t, err := mustTrial(st, b.Trial)
	if err != nil {
		return err
	}
	e, err := enrolled(st, env, signer, t, "signs a trial's consent form as its participant")
	if err != nil {
		return err
	}
	if t.ConsentForm == 0 || b.ConsentForm == 0 || b.ConsentForm > t.ConsentForm {
		return Space.Err(CodeNoConsentForm, "trial %s has consent-form versions 1 to %d, not %d", t.ID, t.ConsentForm, b.ConsentForm)
	}
	if b.ConsentForm != t.ConsentForm {
		return Space.Err(CodeStaleConsent, "consent form version %d of trial %s is superseded; sign version %d, the one in force", b.ConsentForm, t.ID, t.ConsentForm)
	}
	if e.ConsentForm == t.ConsentForm {
		return Space.Err(CodeState, "you signed consent form version %d of trial %s at height %d", e.ConsentForm, t.ID, e.Consents[len(e.Consents)-1].Height)
	}
	form := GetConsentForm(st, t.ID, b.ConsentForm)
	if err := researchConsent(st, identity.Get(st, e.Investigator), signer, form.Categories, nil, env.Time); err != nil {
		return err
	}
	e.ConsentForm = form.Number
	e.Consents = append(e.Consents, Consent{Form: form.Number, Height: env.Height, Time: env.Time.UTC(), Tx: env.TxHash})
	save(st, enrolKey(t.ID, signer), e)
	ev := event(env, signer, ActionReconsent, t.ID)
	ev.Patient, ev.Version, ev.Digest = signer, form.Number, form.Digest
	ev.Reason = fmt.Sprintf("signed consent form version %d", form.Number)
	st.Append(ev.Encode())
	return nil
}

// ExecWithdraw records the participant's withdrawal at the block's height and time.
func ExecWithdraw(st Store, env identity.Env, signer string, b *WithdrawBody) *tx.Error {
	t, err := mustTrial(st, b.Trial)
	if err != nil {
		return err
	}
	e, err := enrolled(st, env, signer, t, "withdraws from a trial as its participant")
	if err != nil {
		return err
	}
	if err := checkText("reason", b.Reason, maxReason, false); err != nil {
		return err
	}
	e.Withdrawal = &Withdrawal{Height: env.Height, Time: env.Time.UTC(), Tx: env.TxHash, Reason: b.Reason}
	t.Withdrawn++
	save(st, enrolKey(t.ID, signer), e)
	save(st, trialKey(t.ID), t)
	ev := event(env, signer, ActionWithdraw, t.ID)
	ev.Patient, ev.Reason = signer, "withdrew: no further data is recorded or exported"
	if b.Reason != "" {
		ev.Reason += "; " + b.Reason
	}
	st.Append(ev.Encode())
	return nil
}
