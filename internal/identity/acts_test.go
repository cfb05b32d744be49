package identity

import (
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
)

var actEnv = Env{ChainID: "c", Height: 7, Time: time.Unix(1_700_000_000, 0).UTC(), TxHash: "ab12"}

// TestEventNamesWhereAndWho: an act's event carries the block it happened in and nothing
// about the actor's role unless the domain asks (SignerEvent) — domains differ in what they
// record, and their events are committed bytes.
func TestEventNamesWhereAndWho(t *testing.T) {
	ev := actEnv.Event("alice", audit.IdentityRotate)
	want := audit.Event{Height: 7, Time: actEnv.Time, Tx: "ab12", Action: audit.IdentityRotate, Outcome: audit.Success, Actor: "alice"}
	if *ev != want {
		t.Fatalf("Event = %+v, want %+v", *ev, want)
	}
	env := actEnv
	env.Signer = &Identity{ID: "alice", Role: Provider, Organization: "St Mary"}
	if ev := env.Event("alice", audit.IdentityRotate); ev.ActorRole != "" || ev.Organization != "" {
		t.Fatalf("Event took the signer's role or organization: %+v", ev)
	}
	ev = env.SignerEvent("alice", audit.IdentityRotate)
	if ev.ActorRole != string(Provider) || ev.Organization != "St Mary" || ev.Height != 7 || ev.Tx != "ab12" {
		t.Fatalf("SignerEvent = %+v", ev)
	}
	if ev := actEnv.SignerEvent("alice", audit.IdentityRotate); ev.ActorRole != "" || ev.Organization != "" {
		t.Fatalf("SignerEvent without a signer invented a role: %+v", ev)
	}
}

// TestMissingRole: only a signer holding the role passes; no signer, another role, or an
// empty role never does, and the refusal says who may act.
func TestMissingRole(t *testing.T) {
	with := func(r Role) Env { e := actEnv; e.Signer = &Identity{ID: "s1", Role: r}; return e }
	for _, c := range []struct {
		name string
		env  Env
		role Role
		want string
	}{
		{"signer has the role", with(Insurer), Insurer, ""},
		{"signer has another role", with(Provider), Insurer, "only an insurer decides appeals; the signer s1 is not one"},
		{"no signer (self-registration)", actEnv, Insurer, "only an insurer decides appeals; the signer s1 is not one"},
		{"registrar is not an auditor", with(Registrar), Auditor, "only an auditor decides appeals; the signer s1 is not one"},
		{"consonant takes a", with(Patient), Provider, "only a provider decides appeals; the signer s1 is not one"},
		{"an identity without a role", with(""), Provider, "only a provider decides appeals; the signer s1 is not one"},
	} {
		if got := c.env.MissingRole("s1", c.role, "decides appeals"); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestSignerOfUnregistered: an unregistered requester has no signer, so authentication
// refuses it as unknown rather than dereferencing nothing.
func TestSignerOfUnregistered(t *testing.T) {
	var none *Identity
	if none.Signer() != nil {
		t.Fatal("a nil identity has a signer")
	}
	i := &Identity{ID: "a", Active: true, SignKey: []byte{1, 2}}
	if s := i.Signer(); s.ID != "a" || !s.Active || string(s.SignKey) != "\x01\x02" {
		t.Fatalf("Signer = %+v", s)
	}
}
