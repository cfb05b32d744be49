package consent

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Store is the state consent handlers write.
type Store interface {
	Get(key []byte) []byte
	Set(key, value []byte)
	Append(leaf []byte) uint64
}

// wrappedShareSize is the size of an HPKE-wrapped 32-byte category key seed.
const wrappedShareSize = 1168

func requirePatient(env identity.Env, signer string) *tx.Error {
	if env.Signer == nil || env.Signer.Role != identity.Patient {
		return Space.Err(CodeUnauthorized, "only a patient manages consent and category keys; the signer %s is not a patient", signer)
	}
	return nil
}

func event(env identity.Env, actor, action, patient string) *audit.Event {
	ev := env.Event(actor, action)
	ev.ActorRole, ev.Patient = string(identity.Patient), patient
	return ev
}

// ExecPublishKeys stores new or rotated category public keys.
func ExecPublishKeys(st Store, env identity.Env, signer string, b *PublishKeysBody) *tx.Error {
	if err := requirePatient(env, signer); err != nil {
		return err
	}
	if len(b.Keys) == 0 || len(b.Keys) > 64 {
		return Space.Err(CodeInvalid, "publish between 1 and 64 category keys")
	}
	if err := applyRotations(st, signer, b.Keys); err != nil {
		return err
	}
	ev := event(env, signer, audit.KeysPublish, signer)
	ev.Category = categoryList(b.Keys)
	st.Append(ev.Encode())
	return nil
}

func applyRotations(st Store, patient string, ks []CategoryKey) *tx.Error {
	seen := map[string]bool{}
	for _, k := range ks {
		if !ValidCategory(k.Category) {
			return Space.Err(CodeInvalid, "category %q: use 1-48 lowercase letters, digits, '.', '_' or '-'", k.Category)
		}
		if seen[k.Category] {
			return Space.Err(CodeInvalid, "category %q appears twice", k.Category)
		}
		seen[k.Category] = true
		if _, err := keys.ParseEncPublic(k.EncKey); err != nil {
			return Space.Err(CodeInvalid, "key for category %q: %v", k.Category, err)
		}
		want := droppedVersion(st, patient, k.Category) + 1
		if cur := CurrentKey(st, patient, k.Category); cur != nil {
			want = cur.Version + 1
		}
		if k.Version != want {
			return Space.Err(CodeKeyVersion, "category %q key must be version %d, got %d", k.Category, want, k.Version)
		}
	}
	for _, k := range ks {
		putKey(st, patient, k)
	}
	return nil
}

func categoryList(ks []CategoryKey) string {
	var c []string
	for _, k := range ks {
		c = append(c, k.Category)
	}
	return strings.Join(c, ",")
}

// ExecGrant validates and stores a grant.
func ExecGrant(st Store, env identity.Env, signer string, b *GrantBody) *tx.Error {
	if err := requirePatient(env, signer); err != nil {
		return err
	}
	g := b.Grant
	if g.Patient == "" {
		g.Patient = signer
	}
	if g.Patient != signer {
		return Space.Err(CodeUnauthorized, "a patient can only grant access to their own records")
	}
	switch {
	case g.Grantee != "" && g.Organization != "":
		return Space.Err(CodeInvalid, "a grant names a grantee or an organization, not both")
	case g.Grantee == "" && g.Organization == "":
		return Space.Err(CodeInvalid, "a grant must name a grantee or an organization")
	case g.Grantee == signer:
		return Space.Err(CodeInvalid, "a patient always has access to their own records")
	}
	if g.Grantee != "" {
		who := identity.Get(st, g.Grantee)
		if who == nil || !who.Active {
			return Space.Err(CodeNotFound, "grantee %s is not an active identity", g.Grantee)
		}
		if who.Role == identity.Auditor || who.Role == identity.Patient || who.Role == identity.Registrar {
			return Space.Err(CodeInvalid, "a %s cannot be granted access to clinical records", who.Role)
		}
	}
	if len(g.Actions) == 0 || len(g.Purposes) == 0 {
		return Space.Err(CodeInvalid, "a grant needs at least one action (read, write) and one purpose")
	}
	for _, a := range g.Actions {
		if !slices.Contains(Actions, a) {
			return Space.Err(CodeInvalid, "unknown action %q (want read or write)", a)
		}
	}
	if err := checkPurposes(g.Purposes); err != nil {
		return err
	}
	for _, d := range g.Deny {
		if err := checkPurposes(d.Purposes); err != nil {
			return err
		}
	}
	if g.Start.IsZero() {
		g.Start = env.Time
	}
	if !g.Expiry.IsZero() && !g.Expiry.After(g.Start) {
		return Space.Err(CodeInvalid, "expiry %s is not after start %s", g.Expiry, g.Start)
	}
	if !g.Expiry.IsZero() && !g.Expiry.After(env.Time) {
		return Space.Err(CodeInvalid, "the grant would already be expired (expiry %s, block time %s)", g.Expiry, env.Time)
	}
	cats := g.Scope.Categories
	if len(cats) == 0 {
		cats = Categories(st, signer)
	}
	for _, c := range g.Scope.Categories {
		if CurrentKey(st, signer, c) == nil {
			return Space.Err(CodeNoCategory, "you have no key for category %q; publish one first", c)
		}
	}
	if err := checkShares(st, signer, g.KeyShares); err != nil {
		return err
	}
	if g.Grantee != "" && slices.Contains(g.Actions, Read) && !ClaimsOnly(g.Scope) {
		for _, c := range cats {
			cur := CurrentKey(st, signer, c)
			if !slices.ContainsFunc(g.KeyShares, func(s KeyShare) bool {
				return s.Category == c && s.Version == cur.Version && s.Recipient == g.Grantee
			}) {
				return Space.Err(CodeMissingShare, "a read grant on category %q must carry its key (version %d) wrapped for the grantee", c, cur.Version)
			}
		}
	}
	g.ID = GrantID(env.TxHash)
	g.GrantedAt, g.RevokedAt = env.Height, 0
	st.Set(Key(signer, g.ID), g.Encode())
	var ids []string
	if raw := st.Get(listKey(signer)); raw != nil {
		if err := json.Unmarshal(raw, &ids); err != nil {
			panic(err)
		}
	}
	ids = append(ids, g.ID)
	raw, _ := json.Marshal(ids)
	st.Set(listKey(signer), raw)
	ev := event(env, signer, audit.ConsentGrant, signer)
	ev.Grant, ev.Subject, ev.Organization = g.ID, g.Grantee, g.Organization
	ev.Purpose = strings.Join(g.Purposes, ",")
	ev.Category = strings.Join(g.Scope.Categories, ",")
	ev.Reason = strings.Join(g.Actions, ",")
	st.Append(ev.Encode())
	return nil
}

func checkPurposes(ps []string) *tx.Error {
	for _, p := range ps {
		if !slices.Contains(Purposes, p) {
			return Space.Err(CodeInvalid, "unknown purpose %q (want one of %s)", p, strings.Join(Purposes, ", "))
		}
	}
	return nil
}

func checkShares(st Store, patient string, shares []KeyShare) *tx.Error {
	for _, s := range shares {
		cur := CurrentKey(st, patient, s.Category)
		if cur == nil {
			return Space.Err(CodeNoCategory, "key share for category %q, which has no key", s.Category)
		}
		if s.Version != cur.Version {
			return Space.Err(CodeKeyVersion, "key share for category %q is version %d; the current key is version %d", s.Category, s.Version, cur.Version)
		}
		if who := identity.Get(st, s.Recipient); who == nil || !who.Active {
			return Space.Err(CodeNotFound, "key share recipient %s is not an active identity", s.Recipient)
		}
		if len(s.Wrapped) != wrappedShareSize {
			return Space.Err(CodeInvalid, "key share for %q is %d bytes, want %d", s.Category, len(s.Wrapped), wrappedShareSize)
		}
	}
	return nil
}

// ExecRevoke revokes a grant and rotates the category keys it shared.
func ExecRevoke(st Store, env identity.Env, signer string, b *RevokeBody) *tx.Error {
	if err := requirePatient(env, signer); err != nil {
		return err
	}
	g := Get(st, signer, b.GrantID)
	if g == nil {
		return Space.Err(CodeNotFound, "you have no grant %s", b.GrantID)
	}
	if g.RevokedAt != 0 {
		return Space.Err(CodeRevoked, "grant %s was already revoked at height %d", g.ID, g.RevokedAt)
	}
	for _, s := range g.KeyShares {
		if !slices.ContainsFunc(b.Rotations, func(k CategoryKey) bool { return k.Category == s.Category }) {
			return Space.Err(CodeNoRotation, "revoking grant %s must rotate the key of category %q it shared, so the grantee cannot read what is written next", g.ID, s.Category)
		}
	}
	if len(b.Rotations) > 0 {
		if err := applyRotations(st, signer, b.Rotations); err != nil {
			return err
		}
	}
	for _, r := range b.Reshares {
		other := Get(st, signer, r.GrantID)
		if other == nil || other.ID == g.ID || other.RevokedAt != 0 {
			return Space.Err(CodeNotFound, "re-share to grant %s: no such active grant", r.GrantID)
		}
		if err := checkShares(st, signer, []KeyShare{r.Share}); err != nil {
			return err
		}
		other.KeyShares = append(other.KeyShares, r.Share)
		st.Set(Key(signer, other.ID), other.Encode())
	}
	g.RevokedAt, g.RevokedTime = env.Height, env.Time
	st.Set(Key(signer, g.ID), g.Encode())
	ev := event(env, signer, audit.ConsentRevoke, signer)
	ev.Grant, ev.Subject, ev.Organization = g.ID, g.Grantee, g.Organization
	ev.Category = categoryList(b.Rotations)
	st.Append(ev.Encode())
	return nil
}

// ShareFor finds the key share of a category version for a recipient among a patient's
// grants.
func ShareFor(grants []*Grant, recipient, category string, version uint32) *KeyShare {
	for _, g := range grants {
		for i := range g.KeyShares {
			s := &g.KeyShares[i]
			if s.Recipient == recipient && s.Category == category && s.Version == version {
				return s
			}
		}
	}
	return nil
}
