package trials

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// researchConsent checks that the participant's grants let the investigator write each of
// the categories for research at block time at. The grant is to the investigator (or the
// investigator's organization), not to the sponsor: a trial observation is a record write
// the investigator signs, and access.Decide judges every write with its author as the
// actor, so this is the very grant each observation will be judged by. The sponsor's read
// grant is separate and decides only what the sponsor's dataset holds (see Dataset).
// rec is the record written, nil at enrolment and re-consent (then a grant limited to some
// resource types or records does not cover a category as a whole).
func researchConsent(r Reader, inv *identity.Identity, participant string, cats []string, rec *access.Record, at time.Time) *tx.Error {
	f := access.Facts{Time: at, Patient: access.Patient{ID: participant}, Grants: consent.Facts(consent.List(r, participant))}
	if inv != nil {
		f.Actor = access.Actor{ID: inv.ID, Role: string(inv.Role), Organization: inv.Organization, Active: inv.Active, Deactivated: inv.Deactivated}
	}
	for _, c := range cats {
		f.Record = &access.Record{Patient: participant, Author: f.Actor.ID, Category: c}
		if rec != nil {
			f.Record.ID, f.Record.ResourceType = rec.ID, rec.ResourceType
		}
		if d := access.Decide(f, access.Request{Action: access.Write, Purpose: access.Research}); !d.Allowed {
			return Space.Err(CodeNoResearchConsent, "participant %s has no active research grant letting %s record category %q: %s", participant, f.Actor.ID, c, d.Reason)
		}
	}
	return nil
}

// consentedForm checks that form is the trial's consent form in force (the newest).
func consentedForm(t *Trial, form uint32, who string) *tx.Error {
	switch {
	case t.ConsentForm == 0:
		return Space.Err(CodeNoConsentForm, "trial %s has no IRB-approved consent form; nobody is enrolled or recorded without one", t.ID)
	case form == 0 || form > t.ConsentForm:
		return Space.Err(CodeNoConsentForm, "trial %s has consent-form versions 1 to %d, not %d", t.ID, t.ConsentForm, form)
	case form != t.ConsentForm:
		return Space.Err(CodeStaleConsent, "%s signed consent form version %d of trial %s; version %d is in force and must be signed first", who, form, t.ID, t.ConsentForm)
	}
	return nil
}

// ParticipantCode is the participant's pseudonym in trial's datasets: derived from the
// trial, the participant and the enrolment transaction, so it is stable within a trial,
// differs between trials, and cannot be recomputed from the identity id alone.
func ParticipantCode(trial, participant, enrolTx string) string {
	d := sha256.Sum256([]byte(strings.Join([]string{"ehrchain trial participant code", trial, participant, enrolTx}, "\x00")))
	return "P-" + hex.EncodeToString(d[:6])
}
