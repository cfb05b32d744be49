package validators

import (
	"encoding/binary"
	"regexp"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Audit actions of validator set changes.
const (
	ActionSet    = audit.ValidatorSet
	ActionRemove = audit.ValidatorRemove
)

// Store is the state the handlers write.
type Store interface {
	Get(key []byte) []byte
	Set(key, value []byte)
	Append(leaf []byte) uint64
}

// countKey holds the number of validators with power > 0, so a removal can refuse to empty
// the set without iterating (CometBFT halts on an update that leaves no validator).
var countKey = []byte("valcount")

// Active is the number of validators with power > 0.
func Active(r Reader) uint64 {
	b := r.Get(countKey)
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func setActive(st Store, n uint64) { st.Set(countKey, binary.BigEndian.AppendUint64(nil, n)) }

var addressRe = regexp.MustCompile(`^[0-9A-F]{40}$`)

// ExecSet applies a Set.
func ExecSet(st Store, env identity.Env, signerID string, b *Set) *tx.Error {
	if env.Signer == nil || env.Signer.Role != identity.Registrar {
		return Space.Err(CodeUnauthorized, "only the registrar changes the validator set")
	}
	if err := validKey(b.PubKey); err != nil {
		return Space.Err(CodeInvalid, "%v", err)
	}
	if b.Power < 1 || b.Power > MaxPower {
		return Space.Err(CodeInvalid, "power %d is out of range 1..%d (remove a validator with a remove transaction)", b.Power, MaxPower)
	}
	if err := Space.CheckText(CodeInvalid, "institution", b.Institution, tx.TextRule{Required: true}); err != nil {
		return err
	}
	if err := Space.CheckText(CodeInvalid, "name", b.Name, tx.TextRule{}); err != nil {
		return err
	}
	addr := Address(b.PubKey)
	v := Get(st, addr)
	n := Active(st)
	switch {
	case v == nil || v.Power == 0:
		if n >= MaxValidators {
			return Space.Err(CodeTooMany, "the validator set already has %d validators, the most this chain allows", n)
		}
		setActive(st, n+1)
		v = &Validator{Address: addr, PubKey: b.PubKey, AddedBy: signerID, AddedAt: env.Height}
	case v.Power == b.Power && v.Institution == b.Institution && v.Name == b.Name:
		return Space.Err(CodeUnchanged, "validator %s already has power %d and institution %q", addr, b.Power, b.Institution)
	}
	v.Power, v.Institution, v.Name, v.RemovedAt = b.Power, b.Institution, b.Name, 0
	st.Set(Key(addr), v.Encode())
	ev := event(env, signerID, ActionSet, addr)
	ev.Organization = b.Institution
	st.Append(ev.Encode())
	return nil
}

// ExecRemove applies a Remove.
func ExecRemove(st Store, env identity.Env, signerID string, b *Remove) *tx.Error {
	if env.Signer == nil || env.Signer.Role != identity.Registrar {
		return Space.Err(CodeUnauthorized, "only the registrar changes the validator set")
	}
	if !addressRe.MatchString(b.Address) {
		return Space.Err(CodeInvalid, "validator address %q must be 40 upper-case hex characters", b.Address)
	}
	if err := Space.CheckText(CodeInvalid, "reason", b.Reason, tx.TextRule{}); err != nil {
		return err
	}
	v := Get(st, b.Address)
	if v == nil || v.Power == 0 {
		return Space.Err(CodeNotFound, "no active validator has address %s", b.Address)
	}
	n := Active(st)
	if n <= 1 {
		return Space.Err(CodeLastOne, "validator %s is the last one: the chain cannot run without a validator", b.Address)
	}
	setActive(st, n-1)
	v.Power, v.RemovedAt = 0, env.Height
	st.Set(Key(b.Address), v.Encode())
	ev := event(env, signerID, ActionRemove, b.Address)
	ev.Organization, ev.Reason = v.Institution, b.Reason
	st.Append(ev.Encode())
	return nil
}

// PutGenesis stores a genesis validator.
func PutGenesis(st Store, v *Validator) {
	v.AddedBy = "genesis"
	st.Set(Key(v.Address), v.Encode())
	setActive(st, Active(st)+1)
}

func event(env identity.Env, actor, action, subject string) *audit.Event {
	ev := env.Event(actor, action)
	ev.ActorRole, ev.Subject = string(identity.Registrar), subject
	return ev
}
