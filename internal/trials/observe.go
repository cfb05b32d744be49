package trials

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Observation is one trial observation: which record version was written for which
// participant, by whom and when. The record itself (ciphertext, wrapped keys) is the
// records index's; this is the trial's list of what was collected.
type Observation struct {
	Number       uint32    `json:"number"`
	Participant  string    `json:"participant"`
	Record       string    `json:"record"`
	Version      uint32    `json:"version"`
	Category     string    `json:"category"`
	ResourceType string    `json:"resource_type"`
	Digest       string    `json:"ciphertext_sha256"`
	Site         string    `json:"site"`
	Investigator string    `json:"investigator"`
	Height       int64     `json:"height"`
	Time         time.Time `json:"time"`
	Tx           string    `json:"tx"`
}

func observationKey(id string, n uint32) []byte { return fmt.Appendf(nil, "trialobs/%s/%010d", id, n) }

// GetObservation loads one observation, or nil.
func GetObservation(r Reader, id string, n uint32) *Observation {
	return load[Observation](r, observationKey(id, n))
}

// Observations loads every observation of a trial, oldest first.
func Observations(r Reader, t *Trial) []*Observation {
	out := make([]*Observation, 0, t.Observations)
	for n := uint32(1); n <= t.Observations; n++ {
		out = append(out, GetObservation(r, t.ID, n))
	}
	return out
}

// ExecObserve records a trial observation. Each refusal has its own code: the signer leads
// no site of the trial (CodeUnauthorized), the patient is not enrolled (CodeNotEnrolled),
// withdrew (CodeWithdrawn), has not signed the consent form in force (CodeStaleConsent),
// the category is not on that form or no longer collected by the protocol in force
// (CodeCategory), or no active research grant lets the
// signer write it (CodeNoResearchConsent). The write itself is records.ExecPutFor for
// purpose research, so the consent engine judges it again and the record is stored, and
// audited, like any other.
func ExecObserve(st records.Store, env identity.Env, signer string, b *ObserveBody) *tx.Error {
	t, err := mustTrial(st, b.Trial)
	if err != nil {
		return err
	}
	if err := requireRole(env, signer, identity.Provider, "records trial observations"); err != nil {
		return err
	}
	v := GetVersion(st, t.ID, t.Head)
	if !slices.ContainsFunc(v.Sites, func(s Site) bool { return s.Investigator == signer }) {
		return Space.Err(CodeUnauthorized, "%s leads no site of trial %s (protocol version %d); only its investigators record observations", signer, t.ID, v.Number)
	}
	m := &b.Put.Meta
	e := GetEnrolment(st, t.ID, m.Patient)
	if e == nil {
		return Space.Err(CodeNotEnrolled, "patient %s is not enrolled in trial %s", m.Patient, t.ID)
	}
	if e.Withdrawal != nil {
		return Space.Err(CodeWithdrawn, "participant %s withdrew from trial %s at height %d (%s); no further data is recorded", m.Patient, t.ID, e.Withdrawal.Height, e.Withdrawal.Time.Format(time.RFC3339))
	}
	if err := consentedForm(t, e.ConsentForm, "participant "+m.Patient); err != nil {
		return err // no data is recorded until the participant signs the form in force
	}
	form := GetConsentForm(st, t.ID, t.ConsentForm)
	if !slices.Contains(form.Categories, m.Category) {
		return Space.Err(CodeCategory, "category %q is not on consent form version %d of trial %s (%s)", m.Category, form.Number, t.ID, strings.Join(form.Categories, ", "))
	}
	if len(v.Categories) > 0 && !slices.Contains(v.Categories, m.Category) {
		// An amendment dropped the category after the form was approved.
		return Space.Err(CodeCategory, "category %q is not one protocol version %d of trial %s collects (%s)", m.Category, v.Number, t.ID, strings.Join(v.Categories, ", "))
	}
	if err := researchConsent(st, env.Signer, m.Patient, []string{m.Category}, &access.Record{ID: m.RecordID, ResourceType: m.ResourceType}, env.Time); err != nil {
		return err
	}
	if err := records.ExecPutFor(st, env, signer, &b.Put, access.Research, nil); err != nil {
		return err
	}
	o := Observation{Number: t.Observations + 1, Participant: m.Patient, Record: m.RecordID, Version: m.Version,
		Category: m.Category, ResourceType: m.ResourceType, Digest: hex.EncodeToString(m.Digest[:]),
		Site: e.Site, Investigator: signer, Height: env.Height, Time: env.Time.UTC(), Tx: env.TxHash}
	t.Observations = o.Number
	save(st, observationKey(t.ID, o.Number), &o)
	save(st, trialKey(t.ID), t)
	ev := event(env, signer, ActionRecord, t.ID)
	ev.Patient, ev.Record, ev.Version, ev.Category, ev.ResourceType = m.Patient, m.RecordID, m.Version, m.Category, m.ResourceType
	ev.Reason = fmt.Sprintf("observation %d under consent form version %d", o.Number, form.Number)
	st.Append(ev.Encode())
	return nil
}
