package consent

import (
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/state/statetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// world is a chain for the consent handlers: pat is the patient; dr a provider, ins an
// insurer, aud an auditor, reg the registrar, pat2 another patient.
type world struct {
	*statetest.Chain
	pat, dr, ins, aud, reg, pat2 string
}

func newWorld(t *testing.T) *world {
	c := statetest.New(t, time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC))
	return &world{Chain: c, pat: c.Identity(identity.Patient, "", ""), dr: c.Identity(identity.Provider, "St Mary", ""),
		ins: c.Identity(identity.Insurer, "Acme", ""), aud: c.Identity(identity.Auditor, "", ""),
		reg: c.Identity(identity.Registrar, "", ""), pat2: c.Identity(identity.Patient, "", "")}
}

// refused runs f as signer, wants consent/code, and checks that nothing was written.
func (w *world) refused(what string, code uint32, signer string, f statetest.Handler) {
	w.T.Helper()
	w.Expect(what, Space, code, signer, f)
}

func (w *world) ok(signer string, f statetest.Handler) { w.T.Helper(); w.Must(signer, f) }

func (w *world) run(signer string, f statetest.Handler) *tx.Error { return w.Run(signer, f) }

func (w *world) id(id string) *identity.Identity { return identity.Get(w.Store, id) }

func encKey(t *testing.T) []byte {
	kp, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return kp.EncPublic()
}

func publish(ks ...CategoryKey) statetest.Handler {
	return func(s *state.Tx, e identity.Env) *tx.Error {
		return ExecPublishKeys(s, e, e.Signer.ID, &PublishKeysBody{Keys: ks})
	}
}

func grant(g Grant) statetest.Handler {
	return func(s *state.Tx, e identity.Env) *tx.Error { return ExecGrant(s, e, e.Signer.ID, &GrantBody{Grant: g}) }
}

func revoke(b RevokeBody) statetest.Handler {
	return func(s *state.Tx, e identity.Env) *tx.Error { return ExecRevoke(s, e, e.Signer.ID, &b) }
}

// TestPublishKeysVersions: a category's first key is version 1 and each rotation the next
// one; anything else is refused and changes nothing.
func TestPublishKeysVersions(t *testing.T) {
	w := newWorld(t)
	k := func(cat string, v uint32) CategoryKey {
		return CategoryKey{Category: cat, Version: v, EncKey: encKey(t)}
	}
	w.ok(w.pat, publish(k("general", 1), k("hiv", 1)))
	for _, c := range []struct {
		name   string
		signer string
		keys   []CategoryKey
		code   uint32
	}{
		{"a provider publishing keys", w.dr, []CategoryKey{k("general", 1)}, CodeUnauthorized},
		{"no keys", w.pat, nil, CodeInvalid},
		{"a new category not at version 1", w.pat, []CategoryKey{k("genetic", 2)}, CodeKeyVersion},
		{"a rotation repeating the current version", w.pat, []CategoryKey{k("general", 1)}, CodeKeyVersion},
		{"a rotation skipping a version", w.pat, []CategoryKey{k("general", 3)}, CodeKeyVersion},
		{"one good and one bad key: none applied", w.pat, []CategoryKey{k("hiv", 2), k("general", 5)}, CodeKeyVersion},
		{"a category twice", w.pat, []CategoryKey{k("genetic", 1), k("genetic", 1)}, CodeInvalid},
		{"a category name out of bounds", w.pat, []CategoryKey{k("Mental Health", 1)}, CodeInvalid},
		{"a key that is not an encryption key", w.pat, []CategoryKey{{Category: "genetic", Version: 1, EncKey: []byte("short")}}, CodeInvalid},
	} {
		w.refused(c.name, c.code, c.signer, publish(c.keys...))
	}
	w.ok(w.pat, publish(k("general", 2)))
	if cur := CurrentKey(w.Store, w.pat, "general"); cur == nil || cur.Version != 2 {
		t.Fatalf("after rotation the current key is %+v", cur)
	}
	if got := Categories(w.Store, w.pat); strings.Join(got, ",") != "general,hiv" {
		t.Fatalf("categories %v, want publication order general,hiv", got)
	}
}

// TestGrantRules: each rule a grant must satisfy, tried one at a time against a grant that
// is otherwise valid (a treatment read of general for dr, carrying its key share).
func TestGrantRules(t *testing.T) {
	w := newWorld(t)
	w.ok(w.pat, publish(CategoryKey{Category: "general", Version: 1, EncKey: encKey(t)}))
	share := KeyShare{Category: "general", Version: 1, Recipient: w.dr, Wrapped: make([]byte, wrappedShareSize)}
	valid := func() Grant {
		return Grant{Grantee: w.dr, Scope: Scope{Categories: []string{"general"}}, Actions: []string{Read},
			Purposes: []string{Treatment}, KeyShares: []KeyShare{share}}
	}
	with := func(f func(*Grant)) Grant { g := valid(); f(&g); return g }
	for _, c := range []struct {
		name   string
		signer string
		g      Grant
		code   uint32
	}{
		{"a provider granting", w.dr, valid(), CodeUnauthorized},
		{"a grant on another patient's records", w.pat, with(func(g *Grant) { g.Patient = w.pat2 }), CodeUnauthorized},
		{"both a grantee and an organization", w.pat, with(func(g *Grant) { g.Organization = "St Mary" }), CodeInvalid},
		{"neither a grantee nor an organization", w.pat, with(func(g *Grant) { g.Grantee = "" }), CodeInvalid},
		{"a grant to oneself", w.pat, with(func(g *Grant) { g.Grantee = w.pat }), CodeInvalid},
		{"an unknown grantee", w.pat, with(func(g *Grant) { g.Grantee = "nobody" }), CodeNotFound},
		{"a grant to an auditor", w.pat, with(func(g *Grant) { g.Grantee = w.aud }), CodeInvalid},
		{"a grant to the registrar", w.pat, with(func(g *Grant) { g.Grantee = w.reg }), CodeInvalid},
		{"a grant to another patient", w.pat, with(func(g *Grant) { g.Grantee = w.pat2 }), CodeInvalid},
		{"no action", w.pat, with(func(g *Grant) { g.Actions = nil }), CodeInvalid},
		{"no purpose", w.pat, with(func(g *Grant) { g.Purposes = nil }), CodeInvalid},
		{"an unknown action", w.pat, with(func(g *Grant) { g.Actions = []string{"delete"} }), CodeInvalid},
		{"an unknown purpose", w.pat, with(func(g *Grant) { g.Purposes = []string{"curiosity"} }), CodeInvalid},
		{"an unknown purpose in a deny provision", w.pat, with(func(g *Grant) { g.Deny = []Deny{{Purposes: []string{"curiosity"}}} }), CodeInvalid},
		{"expiry before start", w.pat, with(func(g *Grant) {
			g.Start = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
			g.Expiry = g.Start.Add(-time.Hour)
		}), CodeInvalid},
		{"already expired at block time", w.pat, with(func(g *Grant) {
			g.Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			g.Expiry = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		}), CodeInvalid},
		{"a category without a key", w.pat, with(func(g *Grant) { g.Scope.Categories = []string{"hiv"} }), CodeNoCategory},
		{"a read without the category's key share", w.pat, with(func(g *Grant) { g.KeyShares = nil }), CodeMissingShare},
		{"a key share for another grantee only", w.pat, with(func(g *Grant) { g.KeyShares[0].Recipient = w.ins }), CodeMissingShare},
		{"a key share at an old version", w.pat, with(func(g *Grant) { g.KeyShares[0].Version = 0 }), CodeKeyVersion},
		{"a key share of the wrong size", w.pat, with(func(g *Grant) { g.KeyShares[0].Wrapped = make([]byte, 10) }), CodeInvalid},
		{"a key share for an unknown recipient", w.pat, with(func(g *Grant) {
			g.KeyShares = append(g.KeyShares, KeyShare{Category: "general", Version: 1, Recipient: "nobody", Wrapped: make([]byte, wrappedShareSize)})
		}), CodeNotFound},
		// A scope naming no category is every category the patient has a key for, so a
		// read still needs each one's share.
		{"an open scope without shares", w.pat, with(func(g *Grant) { g.Scope.Categories, g.KeyShares = nil, nil }), CodeMissingShare},
	} {
		w.refused(c.name, c.code, c.signer, grant(c.g))
	}
	// What needs no key share: a write, a claims-only read, an organization grant.
	for name, g := range map[string]Grant{
		"valid":               valid(),
		"write only":          with(func(g *Grant) { g.Actions, g.KeyShares = []string{Write}, nil }),
		"claims-only read":    {Grantee: w.ins, Scope: Scope{ResourceTypes: []string{"Claim"}}, Actions: []string{Read}, Purposes: []string{Payment}},
		"organization grant":  {Organization: "St Mary", Actions: []string{Read}, Purposes: []string{Treatment}},
		"patient named again": with(func(g *Grant) { g.Patient = w.pat }),
	} {
		if err := w.run(w.pat, grant(g)); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
	gs := List(w.Store, w.pat)
	if len(gs) != 5 {
		t.Fatalf("%d grants stored, want 5", len(gs))
	}
	for i, g := range gs {
		if g.Patient != w.pat || g.Start.IsZero() || g.GrantedAt == 0 || !strings.HasPrefix(g.ID, "g-") {
			t.Errorf("grant %d stored as %+v", i, g)
		}
		if i > 0 && gs[i-1].GrantedAt >= g.GrantedAt {
			t.Errorf("grants not listed oldest first")
		}
	}
}

// TestRevokeRotatesWhatItShared: revoking a grant that carried a key must rotate that key,
// may hand the new version to grants that keep access, and cannot be done twice.
func TestRevokeRotatesWhatItShared(t *testing.T) {
	w := newWorld(t)
	w.ok(w.pat, publish(CategoryKey{Category: "general", Version: 1, EncKey: encKey(t)}))
	shareFor := func(who string, v uint32) KeyShare {
		return KeyShare{Category: "general", Version: v, Recipient: who, Wrapped: make([]byte, wrappedShareSize)}
	}
	read := func(who string) Grant {
		return Grant{Grantee: who, Scope: Scope{Categories: []string{"general"}}, Actions: []string{Read},
			Purposes: []string{Treatment}, KeyShares: []KeyShare{shareFor(who, 1)}}
	}
	w.ok(w.pat, grant(read(w.dr)))
	w.ok(w.pat, grant(read(w.ins)))
	gs := List(w.Store, w.pat)
	drG, insG := gs[0].ID, gs[1].ID
	rot := []CategoryKey{{Category: "general", Version: 2, EncKey: encKey(t)}}
	for _, c := range []struct {
		name   string
		signer string
		b      RevokeBody
		code   uint32
	}{
		{"a provider revoking", w.dr, RevokeBody{GrantID: drG, Rotations: rot}, CodeUnauthorized},
		{"another patient revoking", w.pat2, RevokeBody{GrantID: drG, Rotations: rot}, CodeNotFound},
		{"an unknown grant", w.pat, RevokeBody{GrantID: "g-0000000000000000", Rotations: rot}, CodeNotFound},
		{"without rotating the shared key", w.pat, RevokeBody{GrantID: drG}, CodeNoRotation},
		{"rotating to a wrong version", w.pat, RevokeBody{GrantID: drG, Rotations: []CategoryKey{{Category: "general", Version: 3, EncKey: encKey(t)}}}, CodeKeyVersion},
		{"re-sharing to the grant being revoked", w.pat, RevokeBody{GrantID: drG, Rotations: rot, Reshares: []Reshare{{GrantID: drG, Share: shareFor(w.dr, 2)}}}, CodeNotFound},
		{"re-sharing the old version", w.pat, RevokeBody{GrantID: drG, Rotations: rot, Reshares: []Reshare{{GrantID: insG, Share: shareFor(w.ins, 1)}}}, CodeKeyVersion},
	} {
		w.refused(c.name, c.code, c.signer, revoke(c.b))
	}
	w.ok(w.pat, revoke(RevokeBody{GrantID: drG, Rotations: rot, Reshares: []Reshare{{GrantID: insG, Share: shareFor(w.ins, 2)}}}))
	if g := Get(w.Store, w.pat, drG); g.RevokedAt == 0 || g.RevokedTime.IsZero() {
		t.Fatalf("revoked grant stored as %+v", g)
	}
	if ShareFor(List(w.Store, w.pat), w.ins, "general", 2) == nil {
		t.Fatal("the grant that keeps access did not get the new key version")
	}
	if ShareFor(List(w.Store, w.pat), w.dr, "general", 2) != nil {
		t.Fatal("the revoked grantee got the new key version")
	}
	w.refused("revoking twice", CodeRevoked, w.pat, revoke(RevokeBody{GrantID: drG, Rotations: []CategoryKey{{Category: "general", Version: 3, EncKey: encKey(t)}}}))
}

// TestConsentEvents: every consent change is in the audit log, as the patient's act, naming
// the grant and grantee; key material never is.
func TestConsentEvents(t *testing.T) {
	w := newWorld(t)
	w.ok(w.pat, publish(CategoryKey{Category: "general", Version: 1, EncKey: encKey(t)}))
	w.ok(w.pat, grant(Grant{Grantee: w.dr, Actions: []string{Write}, Purposes: []string{Treatment, Research}}))
	id := List(w.Store, w.pat)[0].ID
	w.ok(w.pat, revoke(RevokeBody{GrantID: id}))
	v := w.Commit()
	want := []struct{ action, grant, subject, purpose string }{
		{audit.KeysPublish, "", "", ""}, {audit.ConsentGrant, id, w.dr, "treatment,research"}, {audit.ConsentRevoke, id, w.dr, ""},
	}
	if v.LogSize() != uint64(len(want)) {
		t.Fatalf("%d events, want %d", v.LogSize(), len(want))
	}
	for i, x := range want {
		raw, err := v.Leaf(uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := audit.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Action != x.action || ev.Actor != w.pat || ev.ActorRole != string(identity.Patient) || ev.Patient != w.pat ||
			ev.Grant != x.grant || ev.Subject != x.subject || ev.Purpose != x.purpose || ev.Outcome != audit.Success {
			t.Errorf("event %d: %+v, want %+v", i, ev, x)
		}
	}
}

// TestLoadedGrantsAreCopies: a handler that changes a grant it loaded (as revocation and
// erasure do) changes neither the cached value nor what the next reader sees.
func TestLoadedGrantsAreCopies(t *testing.T) {
	w := newWorld(t)
	w.ok(w.pat, grant(Grant{Grantee: w.dr, Actions: []string{Write}, Purposes: []string{Treatment}}))
	id := List(w.Store, w.pat)[0].ID
	a := Get(w.Store, w.pat, id)
	a.RevokedAt = 99
	a.Purposes = append(a.Purposes, Research) // clipped: the append copies
	a.KeyShares = append(a.KeyShares, KeyShare{Category: "general"})
	b := Get(w.Store, w.pat, id)
	if b.RevokedAt != 0 || len(b.Purposes) != 1 || len(b.KeyShares) != 0 {
		t.Fatalf("a change to one loaded grant reached the next load: %+v", b)
	}
	if c := Get(w.Store.Committed(), w.pat, id); c != nil {
		t.Fatalf("an uncommitted grant is visible in the committed view: %+v", c)
	}
}

// TestVisible: who sees which of a patient's grants.
func TestVisible(t *testing.T) {
	w := newWorld(t)
	toDr := &Grant{ID: "g1", Grantee: w.dr}
	toOrg := &Grant{ID: "g2", Organization: "St Mary"}
	toIns := &Grant{ID: "g3", Grantee: w.ins}
	toAcme := &Grant{ID: "g4", Organization: "Acme"} // an insurer is never matched by organization
	gs := []*Grant{toDr, toOrg, toIns, toAcme}
	inactive := *w.id(w.aud)
	inactive.Active = false
	for _, c := range []struct {
		name string
		who  *identity.Identity
		ok   bool
		ids  string
	}{
		{"the patient", w.id(w.pat), true, "g1,g2,g3,g4"},
		{"an auditor", w.id(w.aud), true, "g1,g2,g3,g4"},
		{"a provider: its own and its organization's", w.id(w.dr), true, "g1,g2"},
		{"an insurer: its own only", w.id(w.ins), true, "g3"},
		{"anonymous", nil, false, ""},
		{"a deactivated auditor", &inactive, false, ""},
		{"the registrar", w.id(w.reg), false, ""},
		{"another patient", w.id(w.pat2), false, ""},
	} {
		out, ok := Visible(c.who, w.pat, gs)
		var ids []string
		for _, g := range out {
			ids = append(ids, g.ID)
		}
		if ok != c.ok || strings.Join(ids, ",") != c.ids {
			t.Errorf("%s: sees %v (ok %v), want %q (ok %v)", c.name, ids, ok, c.ids, c.ok)
		}
	}
}
