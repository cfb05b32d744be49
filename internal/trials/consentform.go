package trials

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// ConsentForm is one IRB-approved consent-form version. Versions are numbered from 1, never
// change, and each is in force from its block until the next one: a participant who
// signed an earlier one re-consents before further data is recorded.
type ConsentForm struct {
	Number     uint32    `json:"version"`
	Digest     string    `json:"consent_sha256"`
	Categories []string  `json:"categories"`
	Protocol   uint32    `json:"protocol"` // the protocol version in force when it was approved
	Signature  Signature `json:"signature"`
}

func consentFormKey(id string, n uint32) []byte { return fmt.Appendf(nil, "trialcf/%s/%010d", id, n) }

// GetConsentForm loads one consent-form version, or nil.
func GetConsentForm(r Reader, id string, n uint32) *ConsentForm {
	return load[ConsentForm](r, consentFormKey(id, n))
}

// ConsentForms loads every consent-form version, oldest first.
func ConsentForms(r Reader, t *Trial) []*ConsentForm {
	out := make([]*ConsentForm, 0, t.ConsentForm)
	for n := uint32(1); n <= t.ConsentForm; n++ {
		out = append(out, GetConsentForm(r, t.ID, n))
	}
	return out
}

// ExecConsentForm stores a new consent-form version approved by the trial's IRB. Its
// categories are those the participant's research grant must cover; if the protocol in
// force names the categories it collects, the form may name no other.
func ExecConsentForm(st Store, env identity.Env, signer string, b *ConsentFormBody) *tx.Error {
	t, err := mustTrial(st, b.Trial)
	if err != nil {
		return err
	}
	if err := requireRole(env, signer, identity.Auditor, "acts as an IRB"); err != nil {
		return err
	}
	if signer != t.IRB {
		return Space.Err(CodeUnauthorized, "trial %s names %s as its IRB, not %s; only it approves consent forms", t.ID, t.IRB, signer)
	}
	if !validDigest(b.Digest) {
		return Space.Err(CodeInvalid, "consent_sha256 %q: want the consent document's SHA-256 as 64 lowercase hex digits", b.Digest)
	}
	if err := checkCategories("the consent form", b.Categories, true); err != nil {
		return err
	}
	v := GetVersion(st, t.ID, t.Head)
	if len(v.Categories) > 0 {
		for _, c := range b.Categories {
			if !slices.Contains(v.Categories, c) {
				return Space.Err(CodeCategory, "category %q is not one protocol version %d of trial %s collects (%s)", c, v.Number, t.ID, strings.Join(v.Categories, ", "))
			}
		}
	}
	if prev := GetConsentForm(st, t.ID, t.ConsentForm); prev != nil && prev.Digest == b.Digest && slices.Equal(prev.Categories, b.Categories) {
		return Space.Err(CodeState, "consent form version %d of trial %s already has this document and these categories", prev.Number, t.ID)
	}
	sig, err := sign(env, signer, b.Sign, "a consent form", Approval)
	if err != nil {
		return err
	}
	f := ConsentForm{Number: t.ConsentForm + 1, Digest: b.Digest, Categories: b.Categories, Protocol: t.Head, Signature: sig}
	t.ConsentForm = f.Number
	save(st, consentFormKey(t.ID, f.Number), &f)
	save(st, trialKey(t.ID), t)
	ev := event(env, signer, ActionConsentForm, t.ID)
	ev.Version, ev.Digest, ev.Category = f.Number, f.Digest, strings.Join(f.Categories, ",")
	ev.Reason = fmt.Sprintf("consent form version %d: %s", f.Number, b.Sign.Reason)
	st.Append(ev.Encode())
	return nil
}

// validDigest reports whether s is a SHA-256 digest as 64 lowercase hex digits.
func validDigest(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
