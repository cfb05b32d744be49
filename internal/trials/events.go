package trials

import (
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Audit actions of this package.
const (
	ActionRegister = audit.TrialRegister
	ActionDecide   = audit.TrialIRB
	ActionAmend    = audit.TrialAmend
	ActionEnrol    = audit.TrialEnrol
	ActionResults  = audit.TrialResults
	// E-consent and data capture.
	ActionConsentForm = audit.TrialConsentForm
	ActionReconsent   = audit.TrialReconsent
	ActionWithdraw    = audit.TrialWithdraw
	ActionRecord      = audit.TrialRecord
	ActionExport      = audit.TrialExport
)

// event is the audit event of an act on trial: the signer's, for research.
func event(env identity.Env, actor, action, trial string) *audit.Event {
	ev := env.SignerEvent(actor, action)
	ev.Subject, ev.Purpose = trial, "research"
	return ev
}

// sign turns what the signer stated into a signature manifestation, refusing a meaning the
// act does not allow or a missing reason.
func sign(env identity.Env, signer string, s Sign, act string, allowed ...Meaning) (Signature, *tx.Error) {
	ok := false
	for _, m := range allowed {
		ok = ok || s.Meaning == m
	}
	if !ok {
		return Signature{}, Space.Err(CodeMeaning, "a signature on %s means %v, not %q", act, allowed, s.Meaning)
	}
	if m := tx.CheckText("reason", s.Reason, tx.TextRule{Required: true, Max: maxReason, Multiline: true}); m != "" {
		return Signature{}, Space.Err(CodeInvalid, "%s (a signed act states its reason)", m)
	}
	sig := Signature{Signer: signer, Meaning: s.Meaning, Reason: s.Reason, Height: env.Height, Time: env.Time.UTC(), Tx: env.TxHash}
	if env.Signer != nil {
		sig.Name, sig.Role = env.Signer.Name, string(env.Signer.Role)
	}
	return sig, nil
}

// requireRole refuses a signer without role.
func requireRole(env identity.Env, signer string, role identity.Role, what string) *tx.Error {
	if env.Signer == nil || env.Signer.Role != role || !env.Signer.Active {
		return Space.Err(CodeUnauthorized, "only an active %s %s; the signer %s is not one", role, what, signer)
	}
	return nil
}

// activeAs checks that id is an active identity with role.
func activeAs(r Reader, id string, role identity.Role, what string) *tx.Error {
	who := identity.Get(r, id)
	if who == nil {
		return Space.Err(CodeNotFound, "%s %s is not a registered identity", what, id)
	}
	if who.Role != role || !who.Active {
		return Space.Err(CodeInvalid, "%s %s must be an active %s", what, id, role)
	}
	return nil
}
