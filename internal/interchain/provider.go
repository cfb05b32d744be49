package interchain

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Audit actions of this package.
const (
	ActionRecognise = "identity.recognise" // a provider of another shard was recognised here, or its entry refreshed
	ActionAdmit     = "interchain.admit"   // the registrar admitted or withdrew a chain as a home of providers
	ActionCite      = "interchain.cite"    // a record cited a dispense proven on the supply chain
)

// LogStore is Store with the audit log.
type LogStore interface {
	Store
	Append(leaf []byte) uint64
}

// Admission is the registrar's decision on a client as a home of providers.
type Admission struct {
	Client  string `json:"client"`
	ChainID string `json:"chain_id"`
	Admit   bool   `json:"admit"`
	By      string `json:"by"`
	At      int64  `json:"at"` // our height
}

// AdmitKey is the state key of a client's admission.
func AdmitKey(id string) []byte { return []byte("interchain/home/" + id) }

// Admitted says whether the registrar admitted client id's chain as a home of providers.
func Admitted(r tx.Getter, id string) bool {
	a := tx.LoadJSON[Admission](r, AdmitKey(id), "interchain")
	return a != nil && a.Admit
}

// ExecAdmit records the registrar's admission or withdrawal of a client's chain.
func ExecAdmit(st LogStore, env identity.Env, signer string, b *crosstx.AdmitBody) *tx.Error {
	if env.Signer == nil || env.Signer.Role != identity.Registrar {
		return Space.Err(CodeUnauthorized, "only the registrar admits another chain's providers")
	}
	c := GetClient(st, b.ClientID)
	if c == nil {
		return Space.Err(CodeNotFound, "no light client %s", b.ClientID)
	}
	st.Set(AdmitKey(c.ID), encode(&Admission{Client: c.ID, ChainID: c.ChainID, Admit: b.Admit, By: signer, At: env.Height}))
	ev := env.SignerEvent(signer, ActionAdmit)
	ev.Subject, ev.Reason = c.ID, fmt.Sprintf("chain %s: providers admitted %t", c.ChainID, b.Admit)
	st.Append(ev.Encode())
	return nil
}

// ExecRecognise stores the proven entry of a provider of an admitted chain as an identity
// here, marked with its home (identity.Home): consent grants name it and it signs reads
// exactly as a local provider, with the keys its home chain holds for it. A later, newer
// proof refreshes the entry (a key rotation on the home chain), and a proof that the home
// chain deactivated it deactivates it here; an older or equal proof changes nothing, so a
// proof from before a revocation cannot bring the provider back.
func ExecRecognise(st LogStore, env identity.Env, signer string, b *crosstx.RecogniseBody) *tx.Error {
	c, err := liveClient(st, b.ClientID)
	if err != nil {
		return err
	}
	if _, ok := tx.ParseSigner(b.Identity); !ok {
		return Space.Err(CodeInvalid, "identity %q is not a 40-hex identity id", b.Identity)
	}
	if b.Entry == nil {
		return Space.Err(CodeInvalid, "a recognition carries the provider's identity entry")
	}
	if err := VerifyState(st, c.ID, (*StateProof)(b.Proof), identity.Key(b.Identity), b.Entry); err != nil {
		return err
	}
	home, derr := identity.Decode(b.Entry)
	switch {
	case derr != nil:
		return Space.Err(CodeInvalid, "the proven entry: %v", derr)
	case home.ID != b.Identity:
		return Space.Err(CodeInvalid, "the entry proven under %s is identity %s", b.Identity, home.ID)
	case home.Role != identity.Provider:
		return Space.Err(CodeWrongRole, "identity %s is a %s on chain %s; only providers are recognised", home.ID, home.Role, c.ChainID)
	case home.Home != nil:
		return Space.Err(CodeWrongRole, "identity %s is itself recognised on chain %s from chain %s: recognise it from its home", home.ID, c.ChainID, home.Home.ChainID)
	case len(home.SignKey) != ed25519.PublicKeySize:
		return Space.Err(CodeInvalid, "the proven entry's sign key is %d bytes", len(home.SignKey))
	}
	if _, kerr := keys.ParseEncPublic(home.EncKey); kerr != nil {
		return Space.Err(CodeInvalid, "the proven entry's encryption key: %v", kerr)
	}
	here := identity.Get(st, home.ID)
	// A withdrawn admission stops new recognitions and refreshes, but not the news that the
	// home chain deactivated a provider recognised earlier.
	revoking := !home.Active && here != nil && here.Home != nil
	if !revoking && !Admitted(st, c.ID) {
		return Space.Err(CodeNotAdmitted, "the registrar has not admitted chain %s (client %s) as a home of providers", c.ChainID, c.ID)
	}
	if err := recognisable(here, home, c, b.Proof.Height); err != nil {
		return err
	}
	rec := &identity.Identity{ID: home.ID, Role: identity.Provider, Name: home.Name, Organization: home.Organization,
		Licence: home.Licence, SignKey: home.SignKey, EncKey: home.EncKey, KeyVersion: home.KeyVersion, Active: home.Active,
		RegisteredBy: signer, RegisteredAt: env.Height,
		Home: &identity.Home{ChainID: c.ChainID, Client: c.ID, ProvenAt: b.Proof.Height}}
	reason := fmt.Sprintf("provider of chain %s, entry proven at its height %d", c.ChainID, b.Proof.Height)
	if here != nil {
		rec.RegisteredBy, rec.RegisteredAt, rec.RotatedAt = here.RegisteredBy, here.RegisteredAt, here.RotatedAt
		if !bytes.Equal(here.SignKey, home.SignKey) || !bytes.Equal(here.EncKey, home.EncKey) {
			rec.RotatedAt = env.Height
			reason += "; keys rotated there"
		}
	}
	if !home.Active {
		rec.Deactivated = env.Height
		rec.Reason = fmt.Sprintf("deactivated on chain %s at its height %d: %s", c.ChainID, home.Deactivated, home.Reason)
		reason += "; deactivated there"
	}
	identity.Put(st, rec)
	ev := env.SignerEvent(signer, ActionRecognise)
	ev.Subject, ev.Reason = home.ID, reason
	st.Append(ev.Encode())
	return nil
}

// recognisable is the rule on what this chain already holds for the id: nothing (a first
// recognition, of an active provider), or an earlier recognition from the same chain with
// an older proof that is still active here. A local identity is never replaced.
func recognisable(here, home *identity.Identity, c *Client, height int64) *tx.Error {
	switch {
	case here == nil && !home.Active:
		return Space.Err(CodeRevoked, "provider %s was deactivated on chain %s at its height %d: nothing to recognise", home.ID, c.ChainID, home.Deactivated)
	case here == nil:
		return nil
	case here.Home == nil && !bytes.Equal(here.SignKey, home.SignKey):
		return Space.Err(CodeKeyConflict, "identity %s is registered on this chain with other keys than chain %s holds for it", home.ID, c.ChainID)
	case here.Home == nil:
		return Space.Err(CodeKeyConflict, "identity %s is registered on this chain itself (a %s); a local identity is not replaced by another chain's", home.ID, here.Role)
	case here.Home.ChainID != c.ChainID:
		return Space.Err(CodeKeyConflict, "identity %s is recognised here from chain %s, not %s", home.ID, here.Home.ChainID, c.ChainID)
	case height <= here.Home.ProvenAt:
		return Space.Err(CodeStale, "identity %s is recognised from chain %s's height %d; a proof of height %d is not newer", home.ID, c.ChainID, here.Home.ProvenAt, height)
	case !here.Active:
		return Space.Err(CodeRevoked, "identity %s was deactivated here at our height %d (%s); deactivation is final", home.ID, here.Deactivated, here.Reason)
	}
	return nil
}
