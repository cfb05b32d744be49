package identity

import (
	"crypto/ed25519"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Store is the state the identity handlers write.
type Store interface {
	Get(key []byte) []byte
	Set(key, value []byte)
	Append(leaf []byte) uint64
}

// Env is the block context a handler runs in. It comes from the block header, never the
// wall clock.
type Env struct {
	ChainID string
	Height  int64
	Time    time.Time
	TxHash  string
	Signer  *Identity // nil only for a self-registration
}

// SubjectID derives the id a registration creates.
func (b *Register) SubjectID() string { return keys.IDFromSignKey(b.SignKey) }

// ExecRegister applies a registration.
func ExecRegister(st Store, env Env, signerID string, b *Register) *tx.Error {
	if _, err := ParseRole(string(b.Role)); err != nil {
		return Space.Err(CodeInvalid, "%v", err)
	}
	if len(b.SignKey) != ed25519.PublicKeySize {
		return Space.Err(CodeInvalid, "sign key is %d bytes, want %d", len(b.SignKey), ed25519.PublicKeySize)
	}
	if _, err := keys.ParseEncPublic(b.EncKey); err != nil {
		return Space.Err(CodeInvalid, "encryption key: %v", err)
	}
	if b.Role == Patient && b.Name != "" {
		return Space.Err(CodePatientName, "a patient's name is health information and is not put on the ledger; register the patient without a name (keep a display name client-side)")
	}
	if err := Space.CheckText(CodeInvalid, "name", b.Name, tx.TextRule{Required: b.Role != Patient}); err != nil {
		return err
	}
	if err := Space.CheckText(CodeInvalid, "organization", b.Organization, tx.TextRule{Required: b.Role == Provider || b.Role == Insurer || TradingPartner(b.Role)}); err != nil {
		return err
	}
	if b.Role == Patient && b.Organization != "" {
		return Space.Err(CodeInvalid, "a patient does not belong to an organization (organization-wide grants match providers only)")
	}
	if err := Space.CheckText(CodeInvalid, "licence", b.Licence, tx.TextRule{Required: b.Role == Provider}); err != nil {
		return err
	}
	subject := b.SubjectID()
	self := subject == signerID
	switch {
	case self && b.Role == Patient && env.Signer == nil:
		// A patient registering themself; the envelope signature already proves the key.
	case self:
		if env.Signer != nil {
			return Space.Err(CodeExists, "identity %s is already registered", subject)
		}
		return Space.Err(CodeUnauthorized, "only a patient may register themself; a %s must be registered by the registrar", b.Role)
	case env.Signer == nil:
		return tx.Space.Err(tx.CodeUnknownSigner, "signer %s is not registered", signerID)
	case env.Signer.Role == Registrar && b.Role != Patient:
	case env.Signer.Role == Provider && b.Role == Patient:
	default:
		return Space.Err(CodeUnauthorized, "a %s may not register a %s", env.Signer.Role, b.Role)
	}
	if !self && !ed25519.Verify(b.SignKey, PopBytes(env.ChainID, "register", subject, b.SignKey, b.EncKey), b.Proof) {
		return Space.Err(CodeProof, "the registration must carry the subject's signature over its keys (proof of possession); it is missing or wrong")
	}
	if st.Get(Key(subject)) != nil {
		return Space.Err(CodeExists, "identity %s is already registered", subject)
	}
	id := &Identity{
		ID: subject, Role: b.Role, Name: b.Name, Organization: b.Organization, Licence: b.Licence,
		SignKey: b.SignKey, EncKey: b.EncKey, KeyVersion: 1, Active: true,
		RegisteredBy: signerID, RegisteredAt: env.Height,
	}
	Put(st, id)
	ev := event(env, signerID, audit.IdentityRegister, subject)
	ev.Reason = string(b.Role)
	ev.Organization = b.Organization
	st.Append(ev.Encode())
	return nil
}

// ExecDeactivate applies a deactivation.
func ExecDeactivate(st Store, env Env, signerID string, b *Deactivate) *tx.Error {
	target := Get(st, b.ID)
	if target == nil {
		return Space.Err(CodeNotFound, "identity %s is not registered", b.ID)
	}
	if err := Space.CheckText(CodeInvalid, "reason", b.Reason, tx.TextRule{}); err != nil {
		return err
	}
	switch {
	case b.ID == signerID && env.Signer.Role == Registrar:
		return Space.Err(CodeRegistrarSelf, "a registrar cannot deactivate itself; another registrar must")
	case b.ID == signerID, env.Signer.Role == Registrar:
	default:
		return Space.Err(CodeUnauthorized, "a %s may only deactivate itself", env.Signer.Role)
	}
	if !target.Active {
		return Space.Err(CodeInactive, "identity %s was already deactivated at height %d", b.ID, target.Deactivated)
	}
	target.Active = false
	target.Deactivated = env.Height
	target.Reason = b.Reason
	st.Set(Key(b.ID), target.Encode())
	ev := event(env, signerID, audit.IdentityDeactivate, b.ID)
	ev.Reason = b.Reason
	st.Append(ev.Encode())
	return nil
}

// ExecRotate applies a key rotation.
func ExecRotate(st Store, env Env, signerID string, b *Rotate) *tx.Error {
	target := Get(st, b.ID)
	if target == nil {
		return Space.Err(CodeNotFound, "identity %s is not registered", b.ID)
	}
	if b.ID != signerID && env.Signer.Role != Registrar {
		return Space.Err(CodeUnauthorized, "only the identity itself or the registrar may rotate its keys")
	}
	if !target.Active {
		return Space.Err(CodeInactive, "identity %s is deactivated; its keys cannot be rotated", b.ID)
	}
	if target.Home != nil {
		return Space.Err(CodeUnauthorized, "identity %s is registered on chain %s and its keys follow that chain's: rotate them there and recognise it here again", b.ID, target.Home.ChainID)
	}
	if len(b.SignKey) != ed25519.PublicKeySize {
		return Space.Err(CodeInvalid, "sign key is %d bytes, want %d", len(b.SignKey), ed25519.PublicKeySize)
	}
	if _, err := keys.ParseEncPublic(b.EncKey); err != nil {
		return Space.Err(CodeInvalid, "encryption key: %v", err)
	}
	if ed25519.PublicKey(target.SignKey).Equal(ed25519.PublicKey(b.SignKey)) {
		return Space.Err(CodeKeyUnchanged, "the new signing key is the current one")
	}
	if !ed25519.Verify(b.SignKey, PopBytes(env.ChainID, "rotate", b.ID, b.SignKey, b.EncKey), b.Proof) {
		return Space.Err(CodeProof, "the rotation must carry a signature by the new key over the new keys (proof of possession); it is missing or wrong")
	}
	target.SignKey, target.EncKey = b.SignKey, b.EncKey
	target.KeyVersion++
	target.RotatedAt = env.Height
	st.Set(Key(b.ID), target.Encode())
	st.Append(event(env, signerID, audit.IdentityRotate, b.ID).Encode())
	return nil
}

// event records an identity change; a self-registration (no signer yet) is a patient's.
func event(env Env, actor, action, subject string) *audit.Event {
	ev := env.Event(actor, action)
	ev.Subject, ev.ActorRole = subject, string(Patient)
	if env.Signer != nil {
		ev.ActorRole = string(env.Signer.Role)
	}
	return ev
}

// Put stores a new identity and its role index entry.
func Put(st interface{ Set(k, v []byte) }, i *Identity) {
	st.Set(Key(i.ID), i.Encode())
	st.Set(roleKey(i.Role, i.ID), []byte{1})
}

// roleKey indexes identities by role for listing.
func roleKey(r Role, id string) []byte { return []byte("role/" + string(r) + "/" + id) }

// RolePrefix is the key prefix listing identities of role r.
func RolePrefix(r Role) []byte { return []byte("role/" + string(r) + "/") }
