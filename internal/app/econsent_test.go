package app

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/trials"
)

// consentForm is the IRB's approval of a consent document (digest made from doc).
func consentForm(trial, doc string, cats ...string) *trials.ConsentFormBody {
	return &trials.ConsentFormBody{Trial: trial, Digest: sha256Hex(doc), Categories: cats,
		Sign: trials.Sign{Meaning: trials.Approval, Reason: "consent document reviewed by the full board"}}
}

// registeredTrial registers and approves GLU-3 (sponsor and site investigator c.provider,
// IRB c.auditor) with a protocol that collects the general and genetic categories.
func registeredTrial(h *harness, c cast) { registeredTrialBy(h, c.provider, c.provider, c.auditor) }

// registeredTrialBy is registeredTrial with the sponsor, the investigator of site St Mary
// and the IRB given.
func registeredTrialBy(h *harness, sponsor, investigator, irb *keys.Keystore) {
	h.t.Helper()
	p := trialProtocol(investigator.ID, trials.Outcome{Measure: "HbA1c change", TimeFrame: "26 weeks"})
	p.Categories = []string{"general", "genetic"}
	h.mustOK(h.sign(sponsor, &trials.RegisterBody{Trial: "GLU-3", IRB: irb.ID, Protocol: p,
		Sign: trials.Sign{Meaning: trials.Author, Reason: "initial registration"}}))
	h.mustOK(h.sign(irb, &trials.ApproveBody{Trial: "GLU-3", Version: 1,
		Sign: trials.Sign{Meaning: trials.Approval, Reason: "protocol sound"}}))
}

// TestConsentFormVersions: only the trial's IRB approves a consent form, for a registered
// trial, with a digest, naming only categories the protocol collects; versions are kept
// and numbered, and the newest is the one in force.
func TestConsentFormVersions(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast()
	other := newKS(t, "other-irb")
	h.mustOK(h.sign(h.reg, registration(other, identity.Auditor, "", "")))

	h.refused(c.auditor, consentForm("GLU-3", "v1", "general"), trials.CodeNotRegistered, "a consent form for an unknown trial")
	registeredTrial(h, c)
	h.refused(other, consentForm("GLU-3", "v1", "general"), trials.CodeUnauthorized, "a consent form approved by an IRB the trial does not name")
	h.refused(c.provider, consentForm("GLU-3", "v1", "general"), trials.CodeUnauthorized, "a consent form approved by the sponsor")
	empty := consentForm("GLU-3", "v1", "general")
	empty.Digest = ""
	h.refused(c.auditor, empty, trials.CodeInvalid, "a consent form without its document's digest")
	h.refused(c.auditor, consentForm("GLU-3", "v1"), trials.CodeInvalid, "a consent form naming no category")
	h.refused(c.auditor, consentForm("GLU-3", "v1", "general", "mental-health"), trials.CodeCategory, "a consent form asking for a category the protocol does not collect")
	review := consentForm("GLU-3", "v1", "general")
	review.Sign.Meaning = trials.Review
	h.refused(c.auditor, review, trials.CodeMeaning, "a consent form signed as a review")

	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "v1", "general")))
	h.refused(c.auditor, consentForm("GLU-3", "v1", "general"), trials.CodeState, "the same consent form approved again")
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "v2", "general", "genetic")))
	v2height := h.height

	r := h.st.Committed()
	tr := trials.Get(r, "GLU-3")
	fs := trials.ConsentForms(r, tr)
	if tr.ConsentForm != 2 || len(fs) != 2 || fs[0].Digest != sha256Hex("v1") || fs[1].Number != 2 ||
		strings.Join(fs[1].Categories, ",") != "general,genetic" || fs[1].Signature.Height != v2height ||
		fs[1].Signature.Meaning != trials.Approval || fs[1].Signature.Signer != c.auditor.ID || fs[1].Protocol != 1 {
		t.Fatalf("consent forms kept: head %d, %+v", tr.ConsentForm, fs)
	}
}

func sha256Hex(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

// researchGrant is patient's grant letting grantee write their records of cats (all
// categories if none) for research.
func researchGrant(h *harness, patient *keys.Keystore, grantee string, cats ...string) []byte {
	return h.sign(patient, &consent.GrantBody{Grant: consent.Grant{Grantee: grantee, Scope: consent.Scope{Categories: cats},
		Actions: []string{consent.Write}, Purposes: []string{consent.Research}}})
}

// publishKeys publishes version 1 of patient's keys for cats and returns them.
func publishKeys(h *harness, patient *keys.Keystore, cats ...string) map[string]consent.CategoryKey {
	h.t.Helper()
	out := map[string]consent.CategoryKey{}
	var pub []consent.CategoryKey
	for _, cat := range cats {
		k, err := keys.Generate()
		if err != nil {
			h.t.Fatal(err)
		}
		patient.AddCategoryKey(cat, 1, k.Enc)
		ck := consent.CategoryKey{Category: cat, Version: 1, EncKey: k.EncPublic()}
		pub = append(pub, ck)
		out[cat] = ck
	}
	h.mustOK(h.sign(patient, &consent.PublishKeysBody{Keys: pub}))
	return out
}

// lastGrant is the id of the newest grant patient issued.
func lastGrant(h *harness, patient *keys.Keystore) string {
	gs := consent.List(h.st.Committed(), patient.ID)
	return gs[len(gs)-1].ID
}

// TestEnrolmentNeedsConsent: a participant is enrolled only with the consent form in
// force, and only while a research grant to the enrolling investigator covers the form's
// categories: no form, an unknown or superseded version, no grant, a treatment grant, a
// grant too narrow, an expired and a revoked grant are each refused.
func TestEnrolmentNeedsConsent(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast()
	p2 := newKS(t, "p2")
	h.mustOK(h.sign(p2, registration(p2, identity.Patient, "", "")))
	publishKeys(h, c.patient, "general", "genetic")
	publishKeys(h, p2, "general", "genetic")
	registeredTrial(h, c)
	enrol := func(p *keys.Keystore, form uint32) *trials.EnrolBody {
		return &trials.EnrolBody{Trial: "GLU-3", Participant: p.ID, Site: "St Mary", Arm: "drug", ConsentForm: form}
	}

	h.mustOK(researchGrant(h, c.patient, c.provider.ID))
	h.refused(c.provider, enrol(c.patient, 1), trials.CodeNoConsentForm, "enrolment before any consent form is approved")
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "consent v1", "general")))
	h.refused(c.provider, enrol(c.patient, 0), trials.CodeNoConsentForm, "enrolment naming no consent form")
	h.refused(c.provider, enrol(c.patient, 2), trials.CodeNoConsentForm, "enrolment with a consent form version never approved")
	h.refused(c.provider, enrol(p2, 1), trials.CodeNoResearchConsent, "enrolment without a research grant")
	h.mustOK(h.sign(p2, &consent.GrantBody{Grant: consent.Grant{Grantee: c.provider.ID,
		Actions: []string{consent.Write}, Purposes: []string{consent.Treatment}}}))
	h.refused(c.provider, enrol(p2, 1), trials.CodeNoResearchConsent, "enrolment with a treatment grant only")
	h.mustOK(researchGrant(h, p2, c.provider.ID, "genetic"))
	h.refused(c.provider, enrol(p2, 1), trials.CodeNoResearchConsent, "enrolment with a research grant not covering the form's category")
	h.mustOK(h.sign(p2, &consent.RevokeBody{GrantID: lastGrant(h, p2)}))
	expiring := &consent.GrantBody{Grant: consent.Grant{Grantee: c.provider.ID, Actions: []string{consent.Write},
		Purposes: []string{consent.Research}, Expiry: genesisTime.Add(time.Duration(h.height+2) * time.Second)}}
	h.mustOK(h.sign(p2, expiring))
	h.mustOK(h.sign(p2, &Noop{})) // the grant expires at the next block's time
	h.refused(c.provider, enrol(p2, 1), trials.CodeNoResearchConsent, "enrolment with an expired research grant")
	h.mustOK(researchGrant(h, p2, c.provider.ID))
	h.mustOK(h.sign(p2, &consent.RevokeBody{GrantID: lastGrant(h, p2)}))
	h.refused(c.provider, enrol(p2, 1), trials.CodeNoResearchConsent, "enrolment with a revoked research grant")

	h.mustOK(h.sign(c.provider, enrol(c.patient, 1)))
	// Consent form version 2 is in force from its block: version 1 no longer enrols.
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "consent v2", "general", "genetic")))
	h.mustOK(researchGrant(h, p2, c.provider.ID, "general"))
	h.refused(c.provider, enrol(p2, 1), trials.CodeStaleConsent, "enrolment with a superseded consent form")
	h.refused(c.provider, enrol(p2, 2), trials.CodeNoResearchConsent, "enrolment whose grant misses a category the new form adds")
	// A grant to the investigator's organization is a grant to the investigator.
	h.mustOK(h.sign(p2, &consent.GrantBody{Grant: consent.Grant{Organization: "St Mary", Scope: consent.Scope{Categories: []string{"genetic"}},
		Actions: []string{consent.Write}, Purposes: []string{consent.Research}}}))
	h.mustOK(h.sign(c.provider, enrol(p2, 2)))

	r := h.st.Committed()
	e1, e2 := trials.GetEnrolment(r, "GLU-3", c.patient.ID), trials.GetEnrolment(r, "GLU-3", p2.ID)
	if e1.ConsentForm != 1 || e2.ConsentForm != 2 || len(e2.Consents) != 1 || e2.Consents[0].Height != h.height {
		t.Fatalf("enrolments %+v %+v", e1, e2)
	}
	if e1.Code == e2.Code || !strings.HasPrefix(e1.Code, "P-") || strings.Contains(e1.Code, c.patient.ID) ||
		e1.Code != trials.ParticipantCode("GLU-3", c.patient.ID, e1.Tx) {
		t.Fatalf("participant codes %q %q", e1.Code, e2.Code)
	}
}

// TestReconsentAndWithdrawal: a participant signs the newest consent form only (after
// granting what it adds), once; a withdrawal is recorded at its block, once, and nothing
// the participant does in the trial goes through after it.
func TestReconsentAndWithdrawal(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast()
	p2, p3 := newKS(t, "p2"), newKS(t, "p3")
	h.mustOK(h.sign(p2, registration(p2, identity.Patient, "", "")), h.sign(p3, registration(p3, identity.Patient, "", "")))
	for _, p := range []*keys.Keystore{c.patient, p2, p3} {
		publishKeys(h, p, "general", "genetic")
	}
	registeredTrial(h, c)
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "consent v1", "general")))
	h.mustOK(researchGrant(h, c.patient, c.provider.ID, "general"), researchGrant(h, p2, c.provider.ID))
	for _, p := range []*keys.Keystore{c.patient, p2} {
		h.mustOK(h.sign(c.provider, &trials.EnrolBody{Trial: "GLU-3", Participant: p.ID, Site: "St Mary", Arm: "drug", ConsentForm: 1}))
	}
	reconsent := func(v uint32) *trials.ReconsentBody { return &trials.ReconsentBody{Trial: "GLU-3", ConsentForm: v} }

	h.refused(p3, reconsent(1), trials.CodeNotEnrolled, "re-consent by a patient who is not enrolled")
	h.refused(c.provider, reconsent(1), trials.CodeUnauthorized, "re-consent signed by the investigator")
	h.refused(c.patient, reconsent(1), trials.CodeState, "signing the form already signed")
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "consent v2", "general", "genetic")))
	h.refused(c.patient, reconsent(1), trials.CodeStaleConsent, "re-consent to a superseded form")
	h.refused(c.patient, reconsent(3), trials.CodeNoConsentForm, "re-consent to a form never approved")
	h.refused(c.patient, reconsent(2), trials.CodeNoResearchConsent, "re-consent while the grant misses the category the new form adds")
	h.mustOK(researchGrant(h, c.patient, c.provider.ID, "genetic"))
	h.mustOK(h.sign(c.patient, reconsent(2)))

	withdraw := &trials.WithdrawBody{Trial: "GLU-3", Reason: "moving abroad"}
	h.refused(c.provider, withdraw, trials.CodeUnauthorized, "a withdrawal signed by the investigator")
	h.refused(p3, withdraw, trials.CodeNotEnrolled, "a withdrawal by a patient who is not enrolled")
	h.mustOK(h.sign(p2, withdraw))
	withdrawn := h.height
	h.refused(p2, withdraw, trials.CodeWithdrawn, "withdrawing twice")
	h.refused(p2, reconsent(2), trials.CodeWithdrawn, "re-consent after withdrawal")

	r := h.st.Committed()
	e1, e2 := trials.GetEnrolment(r, "GLU-3", c.patient.ID), trials.GetEnrolment(r, "GLU-3", p2.ID)
	if e1.ConsentForm != 2 || len(e1.Consents) != 2 || e1.Consents[0].Form != 1 || e1.Consents[1].Form != 2 || e1.Withdrawal != nil {
		t.Fatalf("re-consented enrolment %+v", e1)
	}
	if e2.Withdrawal == nil || e2.Withdrawal.Height != withdrawn || e2.Withdrawal.Reason != "moving abroad" || e2.ConsentForm != 1 {
		t.Fatalf("withdrawn enrolment %+v", e2)
	}
	if tr := trials.Get(r, "GLU-3"); tr.Withdrawn != 1 || tr.Enrolled != 2 {
		t.Fatalf("trial head %+v", tr)
	}
}

// observation seals plaintext as record id (version 1) of patient in category cat, written
// by author for trial GLU-3, with the data key wrapped for the patient's category key ck
// and for the author.
func observation(h *harness, author *keys.Keystore, patient string, ck consent.CategoryKey, id, plaintext string) *trials.ObserveBody {
	h.t.Helper()
	aad := envelope.AAD(id, 1, patient, ck.Category)
	dk, ct, err := envelope.Seal([]byte(plaintext), aad)
	if err != nil {
		h.t.Fatal(err)
	}
	m := records.Meta{RecordID: id, Version: 1, Patient: patient, Category: ck.Category, ResourceType: "Observation",
		ContentType: "application/fhir+json", Digest: sha256.Sum256(ct), Size: uint64(len(ct)), CategoryVersion: ck.Version,
		AuthorKeyVersion: h.identity(author.ID).KeyVersion}
	if m.PatientWrap, err = envelope.WrapKey(ck.EncKey, dk, aad); err != nil {
		h.t.Fatal(err)
	}
	if m.AuthorWrap, err = envelope.WrapKey(author.Keys.EncPublic(), dk, aad); err != nil {
		h.t.Fatal(err)
	}
	return &trials.ObserveBody{Trial: "GLU-3", Put: records.PutBody{Meta: m, Ciphertext: ct}}
}

// TestObservationRefusals: an observation is recorded only by an investigator of the
// trial, for an enrolled participant who signed the consent form in force, did not
// withdraw, and whose research grant to the investigator is active and covers the
// category on the form; each refusal has its own code, and the write goes through the
// records engine for purpose research.
func TestObservationRefusals(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast()
	outsider := newKS(t, "dr-out")
	h.mustOK(h.sign(h.reg, registration(outsider, identity.Provider, "Elsewhere", "MD-7")))
	ps := []*keys.Keystore{c.patient, newKS(t, "p2"), newKS(t, "p3"), newKS(t, "p4")}
	cks := map[string]map[string]consent.CategoryKey{}
	for _, p := range ps[1:] {
		h.mustOK(h.sign(p, registration(p, identity.Patient, "", "")))
	}
	for _, p := range ps {
		cks[p.ID] = publishKeys(h, p, "general", "genetic")
	}
	registeredTrial(h, c)
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "consent v1", "general")))
	h.mustOK(researchGrant(h, ps[0], c.provider.ID), researchGrant(h, ps[1], c.provider.ID), researchGrant(h, ps[2], c.provider.ID))
	h.mustOK(h.sign(ps[3], &consent.GrantBody{Grant: consent.Grant{Grantee: c.provider.ID, Actions: []string{consent.Write},
		Purposes: []string{consent.Research}, Expiry: genesisTime.Add(time.Duration(h.height+3) * time.Second)}}))
	enrol := func(p *keys.Keystore) []byte {
		return h.sign(c.provider, &trials.EnrolBody{Trial: "GLU-3", Participant: p.ID, Site: "St Mary", Arm: "drug", ConsentForm: 1})
	}
	h.mustOK(enrol(ps[0]), enrol(ps[1]), enrol(ps[3]))
	obs := func(p *keys.Keystore, cat, id string) *trials.ObserveBody {
		return observation(h, c.provider, p.ID, cks[p.ID][cat], id, "HbA1c 7.1% for "+id)
	}

	h.refused(outsider, obs(ps[0], "general", "o-out"), trials.CodeUnauthorized, "an observation by a provider who leads no site")
	h.refused(c.patient, obs(ps[0], "general", "o-self"), trials.CodeUnauthorized, "an observation signed by the participant")
	h.refused(c.provider, obs(ps[2], "general", "o-p3"), trials.CodeNotEnrolled, "an observation for a patient who is not enrolled")
	h.refused(c.provider, obs(ps[0], "genetic", "o-gen"), trials.CodeCategory, "an observation in a category the consent form does not name")
	h.refused(c.provider, obs(ps[3], "general", "o-p4"), trials.CodeNoResearchConsent, "an observation after the research grant expired")
	h.mustOK(h.sign(ps[1], &consent.RevokeBody{GrantID: lastGrant(h, ps[1])}))
	h.refused(c.provider, obs(ps[1], "general", "o-p2"), trials.CodeNoResearchConsent, "an observation after the research grant was revoked")

	h.mustOK(h.sign(c.provider, obs(ps[0], "general", "o-1")))
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "consent v2", "general", "genetic")))
	h.refused(c.provider, obs(ps[0], "general", "o-2"), trials.CodeStaleConsent, "an observation before the participant re-consented to the new form")
	h.mustOK(h.sign(ps[0], &trials.ReconsentBody{Trial: "GLU-3", ConsentForm: 2}))
	h.mustOK(h.sign(c.provider, obs(ps[0], "genetic", "o-2")))
	// An amendment stops collecting genetic data: the form still names it, the protocol does not.
	amended := trials.GetVersion(h.st.Committed(), "GLU-3", 1).Protocol
	amended.Categories = []string{"general"}
	h.mustOK(h.sign(c.provider, &trials.AmendBody{Trial: "GLU-3", Protocol: amended, Sign: trials.Sign{Meaning: trials.Author, Reason: "no genetic sub-study"}}))
	h.mustOK(h.sign(c.auditor, &trials.ApproveBody{Trial: "GLU-3", Version: 2, Sign: trials.Sign{Meaning: trials.Approval, Reason: "fine"}}))
	h.refused(c.provider, obs(ps[0], "genetic", "o-gen2"), trials.CodeCategory, "an observation in a category the amended protocol no longer collects")
	h.mustOK(h.sign(ps[0], &trials.WithdrawBody{Trial: "GLU-3"}))
	h.refused(c.provider, obs(ps[0], "general", "o-3"), trials.CodeWithdrawn, "an observation after the participant withdrew")

	r := h.st.Committed()
	tr := trials.Get(r, "GLU-3")
	os := trials.Observations(r, tr)
	if tr.Observations != 2 || len(os) != 2 || os[0].Record != "o-1" || os[1].Category != "genetic" || os[1].Participant != c.patient.ID {
		t.Fatalf("observations %+v", os)
	}
	if m := records.Version(r, "o-2", 1); m == nil || m.Author != c.provider.ID || m.Patient != c.patient.ID {
		t.Fatalf("the observation's record %+v", m)
	}
	if records.Version(r, "o-3", 1) != nil || records.Version(r, "o-p2", 1) != nil {
		t.Fatal("a refused observation's record was stored")
	}
	var research int
	for _, ev := range auditEvents(t, h) {
		if ev.Action == audit.RecordWrite && ev.Purpose == access.Research && ev.Grant != "" {
			research++
		}
	}
	if research != 2 {
		t.Fatalf("%d record writes audited for research under a grant, want 2", research)
	}
}
