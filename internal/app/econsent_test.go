package app

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/trials"
)

// consentForm is the IRB's approval of a consent document (digest made from doc).
func consentForm(trial, doc string, cats ...string) *trials.ConsentFormBody {
	return &trials.ConsentFormBody{Trial: trial, Digest: sha256Hex(doc), Categories: cats,
		Sign: trials.Sign{Meaning: trials.Approval, Reason: "consent document reviewed by the full board"}}
}

// registeredTrial registers and approves GLU-3 (sponsor and site investigator c.provider,
// IRB c.auditor) with a protocol that collects the general and genetic categories.
func registeredTrial(h *harness, c cast) {
	h.t.Helper()
	p := trialProtocol(c.provider.ID, trials.Outcome{Measure: "HbA1c change", TimeFrame: "26 weeks"})
	p.Categories = []string{"general", "genetic"}
	h.mustOK(h.sign(c.provider, &trials.RegisterBody{Trial: "GLU-3", IRB: c.auditor.ID, Protocol: p,
		Sign: trials.Sign{Meaning: trials.Author, Reason: "initial registration"}}))
	h.mustOK(h.sign(c.auditor, &trials.ApproveBody{Trial: "GLU-3", Version: 1,
		Sign: trials.Sign{Meaning: trials.Approval, Reason: "protocol sound"}}))
}

// TestConsentFormVersions: only the trial's IRB approves a consent form, for a registered
// trial, with a digest, naming only categories the protocol collects; versions are kept
// and numbered, and the newest is the one in force.
func TestConsentFormVersions(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast()
	other := newKS(t, "other-irb")
	h.mustOK(h.sign(h.reg, registration(other, "auditor", "", "")))

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
