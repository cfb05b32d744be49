package identity_test

import (
	"crypto/ed25519"
	"net/http"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/state/statetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// book is a chain for the identity handlers.
type book struct{ *statetest.Chain }

func newBook(t *testing.T) *book { return &book{statetest.New(t, time.Unix(1_700_000_000, 0).UTC())} }

func (b *book) keyPair() *keys.KeyPair {
	kp, err := keys.Generate()
	if err != nil {
		b.T.Fatal(err)
	}
	return kp
}

// put stores an identity directly (genesis-like), returning its id.
func (b *book) put(role identity.Role, org string) string { return b.Identity(role, org, "") }

// handler is an identity handler, which also takes the signer's id: a self-registering
// patient signs before it has an identity.
type handler = func(identity.Store, identity.Env, string) *tx.Error

// expect runs f as signer (registered or not) and wants space/code (code 0: success).
func (b *book) expect(what string, space tx.Codespace, code uint32, signer string, f handler) {
	b.T.Helper()
	b.Expect(what, space, code, signer, func(st *state.Tx, env identity.Env) *tx.Error { return f(st, env, signer) })
}

// registration is a valid registration of a new key pair with role, signed for "c".
func (b *book) registration(role identity.Role) (*identity.Register, *keys.KeyPair) {
	kp := b.keyPair()
	r := &identity.Register{Role: role, SignKey: kp.SignPublic(), EncKey: kp.EncPublic()}
	switch role {
	case identity.Provider:
		r.Name, r.Organization, r.Licence = "Dr A", "St Mary", "GMC 1"
	case identity.Patient:
	case identity.Insurer, identity.Manufacturer:
		r.Name, r.Organization = "Acme", "Acme"
	default:
		r.Name = "Office"
	}
	r.Proof = identity.SignPop(kp.Sign, "c", "register", r.SubjectID(), r.EncKey)
	return r, kp
}

func register(r *identity.Register) handler {
	return func(st identity.Store, env identity.Env, s string) *tx.Error {
		return identity.ExecRegister(st, env, s, r)
	}
}

// TestWhoRegistersWhom: the registrar registers institutions and staff, a provider
// registers patients, a patient registers only themself; nobody else registers anyone.
func TestWhoRegistersWhom(t *testing.T) {
	b := newBook(t)
	reg, dr, ins, aud, pat := b.put(identity.Registrar, ""), b.put(identity.Provider, "St Mary"), b.put(identity.Insurer, "Acme"), b.put(identity.Auditor, ""), b.put(identity.Patient, "")
	I := identity.Space
	for _, c := range []struct {
		name   string
		signer string
		role   identity.Role
		code   uint32
	}{
		{"the registrar registers a provider", reg, identity.Provider, 0},
		{"the registrar registers an insurer", reg, identity.Insurer, 0},
		{"the registrar registers an auditor", reg, identity.Auditor, 0},
		{"the registrar registers a trading partner", reg, identity.Manufacturer, 0},
		{"the registrar registers a patient", reg, identity.Patient, identity.CodeUnauthorized},
		{"a provider registers a patient", dr, identity.Patient, 0},
		{"a provider registers a provider", dr, identity.Provider, identity.CodeUnauthorized},
		{"an insurer registers a patient", ins, identity.Patient, identity.CodeUnauthorized},
		{"an auditor registers an auditor", aud, identity.Auditor, identity.CodeUnauthorized},
		{"a patient registers another patient", pat, identity.Patient, identity.CodeUnauthorized},
	} {
		r, _ := b.registration(c.role)
		b.expect(c.name, I, c.code, c.signer, register(r))
	}
	// Self-registration: only a patient, only once; an unregistered signer registers no one.
	r, _ := b.registration(identity.Patient)
	b.expect("a patient registers themself", I, 0, r.SubjectID(), register(r))
	b.expect("a patient registers themself again", I, identity.CodeExists, r.SubjectID(), register(r))
	pr, _ := b.registration(identity.Provider)
	b.expect("a provider registers themself", I, identity.CodeUnauthorized, pr.SubjectID(), register(pr))
	other, _ := b.registration(identity.Patient)
	b.expect("an unregistered signer registers someone", tx.Space, tx.CodeUnknownSigner, pr.SubjectID(), register(other))
	b.expect("a provider registers another patient", I, 0, dr, register(other))
	b.expect("registering an identity twice", I, identity.CodeExists, dr, register(other))

	got := identity.Get(b.Store, r.SubjectID())
	if got == nil || got.RegisteredBy != r.SubjectID() || got.KeyVersion != 1 || !got.Active || got.Role != identity.Patient {
		t.Fatalf("self-registered patient stored as %+v", got)
	}
}

// TestRegistrationFields: what a registration must carry, and the patient's pseudonymity.
func TestRegistrationFields(t *testing.T) {
	b := newBook(t)
	reg, dr := b.put(identity.Registrar, ""), b.put(identity.Provider, "St Mary")
	I := identity.Space
	for _, c := range []struct {
		name   string
		signer string
		role   identity.Role
		mut    func(*identity.Register, *keys.KeyPair)
		code   uint32
	}{
		{"an unknown role", reg, identity.Provider, func(r *identity.Register, _ *keys.KeyPair) { r.Role = "nurse" }, identity.CodeInvalid},
		{"a short signing key", reg, identity.Provider, func(r *identity.Register, _ *keys.KeyPair) { r.SignKey = r.SignKey[:31] }, identity.CodeInvalid},
		{"a bad encryption key", reg, identity.Provider, func(r *identity.Register, _ *keys.KeyPair) { r.EncKey = []byte("x") }, identity.CodeInvalid},
		{"a patient with a name (health information)", dr, identity.Patient, func(r *identity.Register, _ *keys.KeyPair) { r.Name = "Jane Roe" }, identity.CodePatientName},
		{"a patient with an organization", dr, identity.Patient, func(r *identity.Register, _ *keys.KeyPair) { r.Organization = "St Mary" }, identity.CodeInvalid},
		{"an insurer without an organization", reg, identity.Insurer, func(r *identity.Register, _ *keys.KeyPair) { r.Organization = "" }, identity.CodeInvalid},
		{"an auditor without a name", reg, identity.Auditor, func(r *identity.Register, _ *keys.KeyPair) { r.Name = "" }, identity.CodeInvalid},
		{"no proof of possession", reg, identity.Provider, func(r *identity.Register, _ *keys.KeyPair) { r.Proof = nil }, identity.CodeProof},
		{"a proof for another chain", reg, identity.Provider, func(r *identity.Register, kp *keys.KeyPair) {
			r.Proof = identity.SignPop(kp.Sign, "other-chain", "register", r.SubjectID(), r.EncKey)
		}, identity.CodeProof},
		{"a proof over another encryption key", reg, identity.Provider, func(r *identity.Register, kp *keys.KeyPair) {
			r.EncKey = b.keyPair().EncPublic()
		}, identity.CodeProof},
		{"a proof made for a rotation", reg, identity.Provider, func(r *identity.Register, kp *keys.KeyPair) {
			r.Proof = identity.SignPop(kp.Sign, "c", "rotate", r.SubjectID(), r.EncKey)
		}, identity.CodeProof},
		{"a proof by someone else's key", reg, identity.Provider, func(r *identity.Register, _ *keys.KeyPair) {
			r.Proof = identity.SignPop(b.keyPair().Sign, "c", "register", r.SubjectID(), r.EncKey)
		}, identity.CodeProof},
	} {
		r, kp := b.registration(c.role)
		c.mut(r, kp)
		b.expect(c.name, I, c.code, c.signer, register(r))
	}
}

func deactivate(id, reason string) handler {
	return func(st identity.Store, env identity.Env, s string) *tx.Error {
		return identity.ExecDeactivate(st, env, s, &identity.Deactivate{ID: id, Reason: reason})
	}
}

// TestDeactivation: an identity deactivates itself, the registrar deactivates anyone but
// itself, nobody else anyone; once is enough, and history stays.
func TestDeactivation(t *testing.T) {
	b := newBook(t)
	reg, reg2, dr, pat, pat2 := b.put(identity.Registrar, ""), b.put(identity.Registrar, ""), b.put(identity.Provider, "St Mary"), b.put(identity.Patient, ""), b.put(identity.Patient, "")
	I := identity.Space
	b.expect("a provider deactivates a patient", I, identity.CodeUnauthorized, dr, deactivate(pat, ""))
	b.expect("a patient deactivates another", I, identity.CodeUnauthorized, pat2, deactivate(pat, ""))
	b.expect("the registrar deactivates itself", I, identity.CodeRegistrarSelf, reg, deactivate(reg, ""))
	b.expect("an unknown identity", I, identity.CodeNotFound, reg, deactivate("0000000000000000000000000000000000000000", ""))
	b.expect("a reason with a line break", I, identity.CodeInvalid, pat, deactivate(pat, "moved\naway"))
	b.expect("a patient deactivates themself", I, 0, pat, deactivate(pat, "moved away"))
	b.expect("deactivated twice", I, identity.CodeInactive, reg, deactivate(pat, ""))
	b.expect("the registrar deactivates a provider", I, 0, reg, deactivate(dr, "licence lapsed"))
	b.expect("another registrar deactivates the first", I, 0, reg2, deactivate(reg, ""))
	got := identity.Get(b.Store, pat)
	if got.Active || got.Deactivated == 0 || got.Reason != "moved away" || len(got.SignKey) == 0 {
		t.Fatalf("deactivated patient stored as %+v", got)
	}
}

func rotate(id string, kp *keys.KeyPair, proof []byte) handler {
	return func(st identity.Store, env identity.Env, s string) *tx.Error {
		return identity.ExecRotate(st, env, s, &identity.Rotate{ID: id, SignKey: kp.SignPublic(), EncKey: kp.EncPublic(), Proof: proof})
	}
}

// TestRotation: the identity itself or the registrar rotates its keys to a new key pair it
// proves it holds; a deactivated identity's keys stay as they were.
func TestRotation(t *testing.T) {
	b := newBook(t)
	reg, dr, pat := b.put(identity.Registrar, ""), b.put(identity.Provider, "St Mary"), b.put(identity.Patient, "")
	I := identity.Space
	next := b.keyPair()
	pop := func(kp *keys.KeyPair, id string) []byte {
		return identity.SignPop(kp.Sign, "c", "rotate", id, kp.EncPublic())
	}
	b.expect("a provider rotates a patient's keys", I, identity.CodeUnauthorized, dr, rotate(pat, next, pop(next, pat)))
	b.expect("an unknown identity", I, identity.CodeNotFound, reg, rotate("0000000000000000000000000000000000000000", next, pop(next, pat)))
	b.expect("to the current key", I, identity.CodeKeyUnchanged, pat, rotate(pat, b.Keys[pat], pop(b.Keys[pat], pat)))
	b.expect("without proof", I, identity.CodeProof, pat, rotate(pat, next, nil))
	b.expect("with a proof for another identity", I, identity.CodeProof, pat, rotate(pat, next, pop(next, dr)))
	b.expect("with a proof by the old key", I, identity.CodeProof, pat, rotate(pat, next, identity.SignPop(b.Keys[pat].Sign, "c", "rotate", pat, next.EncPublic())))
	b.expect("the patient rotates", I, 0, pat, rotate(pat, next, pop(next, pat)))
	got := identity.Get(b.Store, pat)
	if !ed25519.PublicKey(got.SignKey).Equal(next.SignPublic()) || got.KeyVersion != 2 || got.RotatedAt == 0 {
		t.Fatalf("rotated identity stored as %+v", got)
	}
	third := b.keyPair()
	b.expect("the registrar rotates a provider's keys", I, 0, reg, rotate(dr, third, pop(third, dr)))
	b.expect("the patient deactivates", I, 0, pat, deactivate(pat, ""))
	fourth := b.keyPair()
	b.expect("a deactivated identity's keys", I, identity.CodeInactive, reg, rotate(pat, fourth, pop(fourth, pat)))
}

// TestLoadedIdentitiesAreCopies: a handler changing an identity it loaded (deactivation,
// rotation) changes neither the cached value nor the next load.
func TestLoadedIdentitiesAreCopies(t *testing.T) {
	b := newBook(t)
	pat := b.put(identity.Patient, "")
	a := identity.Get(b.Store, pat)
	a.Active, a.KeyVersion, a.Reason = false, 9, "changed"
	if got := identity.Get(b.Store, pat); !got.Active || got.KeyVersion != 1 || got.Reason != "" {
		t.Fatalf("a change to one loaded identity reached the next load: %+v", got)
	}
	if identity.Get(b.Store, "nobody") != nil {
		t.Fatal("an unknown id loaded")
	}
}

// TestCheckQuery: a signed query is its signer's only with the right chain, method, URI and
// time, and a current key; an unsigned one is anonymous, not an error.
func TestCheckQuery(t *testing.T) {
	kp, _ := keys.Generate()
	id := keys.IDFromSignKey(kp.SignPublic())
	now := time.Unix(1_700_000_000, 0)
	keyOf := func(who string) ed25519.PublicKey {
		if who == id {
			return kp.SignPublic()
		}
		return nil
	}
	signed := func(chain, method, uri string, at time.Time) http.Header {
		h := http.Header{}
		identity.SignQuery(h, chain, id, kp.Sign, method, uri, at)
		return h
	}
	for _, c := range []struct {
		name string
		h    http.Header
		want string // the requester, or "" for anonymous
		code uint32 // 0: no error
	}{
		{"signed", signed("c", "GET", "/identities?role=patient", now), id, 0},
		{"unsigned", http.Header{}, "", 0},
		{"at the edge of the skew", signed("c", "GET", "/identities?role=patient", now.Add(-identity.QuerySkew)), id, 0},
		{"signed for another chain", signed("d", "GET", "/identities?role=patient", now), "", identity.CodeBadQuery},
		{"signed for another method", signed("c", "POST", "/identities?role=patient", now), "", identity.CodeBadQuery},
		{"signed for another URI", signed("c", "GET", "/identities?role=provider", now), "", identity.CodeBadQuery},
		{"signed too long ago", signed("c", "GET", "/identities?role=patient", now.Add(-identity.QuerySkew-time.Second)), "", identity.CodeBadQuery},
		{"signed in the future", signed("c", "GET", "/identities?role=patient", now.Add(identity.QuerySkew+time.Second)), "", identity.CodeBadQuery},
		{"a signature without an identity", func() http.Header {
			h := signed("c", "GET", "/identities?role=patient", now)
			h.Del(identity.QueryHeaderIdentity)
			return h
		}(), "", identity.CodeBadQuery},
		{"an identity that is not registered", func() http.Header {
			h := signed("c", "GET", "/identities?role=patient", now)
			h.Set(identity.QueryHeaderIdentity, "0000000000000000000000000000000000000000")
			return h
		}(), "", identity.CodeBadQuery},
		{"a time that is not a number", func() http.Header {
			h := signed("c", "GET", "/identities?role=patient", now)
			h.Set(identity.QueryHeaderTime, "yesterday")
			return h
		}(), "", identity.CodeBadQuery},
		{"a signature that is not base64", func() http.Header {
			h := signed("c", "GET", "/identities?role=patient", now)
			h.Set(identity.QueryHeaderSignature, "!!")
			return h
		}(), "", identity.CodeBadQuery},
	} {
		got, err := identity.CheckQuery("c", "GET", "/identities?role=patient", c.h, now, keyOf)
		switch {
		case c.code == 0 && (err != nil || got != c.want):
			t.Errorf("%s: %q %v, want %q", c.name, got, err, c.want)
		case c.code != 0 && (err == nil || err.Code != c.code || err.Codespace != string(identity.Space) || got != ""):
			t.Errorf("%s: %q %v, want identity/%d", c.name, got, err, c.code)
		}
	}
}

// TestSees: institutions are public; a patient is seen by themself, the provider who
// registered them, the registrar and auditors, and those the patient granted access.
func TestSees(t *testing.T) {
	pat := &identity.Identity{ID: "p", Role: identity.Patient, RegisteredBy: "dr", Active: true}
	mk := func(id string, r identity.Role, active bool) *identity.Identity {
		return &identity.Identity{ID: id, Role: r, Active: active}
	}
	granted := func(string) bool { return true }
	none := func(string) bool { return false }
	for _, c := range []struct {
		name  string
		r     *identity.Identity
		s     *identity.Identity
		cares func(string) bool
		want  bool
	}{
		{"anyone sees an institution", nil, mk("dr2", identity.Provider, true), none, true},
		{"anonymous does not see a patient", nil, pat, granted, false},
		{"the patient", mk("p", identity.Patient, true), pat, none, true},
		{"the registering provider", mk("dr", identity.Provider, true), pat, none, true},
		{"the registrar", mk("reg", identity.Registrar, true), pat, none, true},
		{"an auditor", mk("aud", identity.Auditor, true), pat, none, true},
		{"a deactivated auditor", mk("aud", identity.Auditor, false), pat, none, false},
		{"a deactivated registering provider", mk("dr", identity.Provider, false), pat, none, false},
		{"a provider with a grant", mk("dr2", identity.Provider, true), pat, granted, true},
		{"a provider without one", mk("dr2", identity.Provider, true), pat, none, false},
		{"an insurer with a grant", mk("ins", identity.Insurer, true), pat, granted, true},
		{"another patient, whatever it claims", mk("p2", identity.Patient, true), pat, granted, false},
		{"a trading partner", mk("m", identity.Manufacturer, true), pat, granted, false},
	} {
		if got := identity.Sees(c.r, c.s, c.cares); got != c.want {
			t.Errorf("%s: sees %v, want %v", c.name, got, c.want)
		}
	}
	if p := identity.Public(pat); p.RegisteredBy != "" || pat.RegisteredBy != "dr" {
		t.Fatal("Public must hide who registered a patient, and leave the stored identity alone")
	}
}
