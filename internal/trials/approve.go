package trials

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// ExecApprove records the trial IRB's signed decision on the newest protocol version: an
// approval lets enrolment proceed under it, a review is recorded without approving.
func ExecApprove(st Store, env identity.Env, signer string, b *ApproveBody) *tx.Error {
	t, err := mustTrial(st, b.Trial)
	if err != nil {
		return err
	}
	if err := requireRole(env, signer, identity.Auditor, "acts as an IRB"); err != nil {
		return err
	}
	if signer != t.IRB {
		return Space.Err(CodeUnauthorized, "trial %s names %s as its IRB, not %s", t.ID, t.IRB, signer)
	}
	if b.Version == 0 || b.Version > t.Head {
		return Space.Err(CodeNotFound, "trial %s has protocol versions 1 to %d, not %d", t.ID, t.Head, b.Version)
	}
	if b.Version != t.Head {
		return Space.Err(CodeState, "protocol version %d of trial %s is superseded by version %d; decide on the version in force", b.Version, t.ID, t.Head)
	}
	sig, err := sign(env, signer, b.Sign, "an IRB decision", Approval, Review)
	if err != nil {
		return err
	}
	t.Decisions++
	d := Decision{Number: t.Decisions, Version: b.Version, Signature: sig}
	if sig.Meaning == Approval {
		if t.Approved == b.Version {
			return Space.Err(CodeState, "protocol version %d of trial %s is already approved", b.Version, t.ID)
		}
		t.Approved = b.Version
	}
	save(st, decisionKey(t.ID, d.Number), &d)
	save(st, trialKey(t.ID), t)
	ev := event(env, signer, ActionDecide, t.ID)
	ev.Version, ev.Reason = b.Version, fmt.Sprintf("%s: %s", sig.Meaning, b.Sign.Reason)
	st.Append(ev.Encode())
	return nil
}
