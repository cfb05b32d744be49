package trials

import (
	"fmt"
	"strings"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// ExecAmend stores a new protocol version; the earlier ones stay. The new version needs
// its own IRB approval before further enrolment. A change of primary outcomes once
// enrolment has started is stored, and counted, as an outcome switch.
func ExecAmend(st Store, env identity.Env, signer string, b *AmendBody) *tx.Error {
	t, err := mustTrial(st, b.Trial)
	if err != nil {
		return err
	}
	if signer != t.Sponsor {
		return Space.Err(CodeUnauthorized, "only trial %s's sponsor %s amends its protocol", t.ID, t.Sponsor)
	}
	if err := requireRole(env, signer, sponsorRole, "sponsors a trial"); err != nil {
		return err
	}
	if err := checkProtocol(st, &b.Protocol); err != nil {
		return err
	}
	prev := GetVersion(st, t.ID, t.Head)
	changes := Changes(&prev.Protocol, &b.Protocol)
	if len(changes) == 0 {
		return Space.Err(CodeState, "the amendment restates protocol version %d of trial %s unchanged", t.Head, t.ID)
	}
	sig, err := sign(env, signer, b.Sign, "an amendment", Author)
	if err != nil {
		return err
	}
	v := Version{Number: t.Head + 1, Protocol: b.Protocol, Signature: sig, Changes: changes,
		OutcomeSwitch: t.Enrolled > 0 && PrimarySwitched(&prev.Protocol, &b.Protocol)}
	t.Head, t.PrimaryCompletion = v.Number, b.Protocol.PrimaryCompletion
	if v.OutcomeSwitch {
		t.OutcomeSwitches++
	}
	save(st, versionKey(t.ID, v.Number), &v)
	save(st, trialKey(t.ID), t)
	ev := event(env, signer, ActionAmend, t.ID)
	ev.Version, ev.Digest = v.Number, b.Protocol.Digest
	ev.Reason = fmt.Sprintf("changes %s: %s", strings.Join(changes, ", "), b.Sign.Reason)
	if v.OutcomeSwitch {
		ev.Reason = "outcome switch after enrolment started; " + ev.Reason
	}
	st.Append(ev.Encode())
	return nil
}
