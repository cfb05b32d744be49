package emergency

import (
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// world is a real state store with identities, custodians and an escrow, driven by the
// handlers directly (one overlay per transaction, flushed on success, as the app does).
type world struct {
	t      *testing.T
	st     *state.Store
	now    time.Time
	height int64
	ids    map[string]*identity.Identity
	ks     map[string]*keys.Keystore
	n      int
}

func newWorld(t *testing.T) *world {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{t: t, st: st, now: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), ids: map[string]*identity.Identity{}, ks: map[string]*keys.Keystore{}}
	for _, p := range []struct {
		name string
		role identity.Role
		org  string
	}{{"reg", identity.Registrar, ""}, {"dr", identity.Provider, "St Mary"}, {"dr2", identity.Provider, "City"}, {"pat", identity.Patient, ""},
		{"aud", identity.Auditor, ""}, {"c1", identity.Provider, "A"}, {"c2", identity.Provider, "B"}, {"c3", identity.Provider, "A"}} {
		k := newKS(t, p.name)
		id := &identity.Identity{ID: k.ID, Role: p.role, Name: p.name, Organization: p.org, SignKey: k.Keys.SignPublic(),
			EncKey: k.Keys.EncPublic(), KeyVersion: 1, Active: true}
		identity.Put(st, id)
		w.ids[p.name], w.ks[p.name] = id, k
	}
	cat, _ := keys.Generate()
	w.ks["pat"].AddCategoryKey("general", 1, cat.Enc)
	w.must("publish", "pat", func(ov *state.Tx, env identity.Env) *tx.Error {
		return consent.ExecPublishKeys(ov, env, env.Signer.ID, &consent.PublishKeysBody{Keys: []consent.CategoryKey{{Category: "general", Version: 1, EncKey: cat.EncPublic()}}})
	})
	return w
}

// run executes one transaction by signer at the next block; the overlay is flushed only
// on success.
func (w *world) run(signer string, exec func(*state.Tx, identity.Env) *tx.Error) *tx.Error {
	w.n++
	w.height++
	w.now = w.now.Add(time.Second)
	env := identity.Env{ChainID: "c", Height: w.height, Time: w.now, TxHash: "ab" + string(rune('a'+w.n%26)) + "0123456789abcdef0123456789", Signer: w.ids[signer]}
	ov := w.st.Begin()
	if err := exec(ov, env); err != nil {
		return err
	}
	ov.Flush()
	return nil
}

func (w *world) must(what, signer string, exec func(*state.Tx, identity.Env) *tx.Error) {
	w.t.Helper()
	if err := w.run(signer, exec); err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

func (w *world) refused(what string, code uint32, signer string, exec func(*state.Tx, identity.Env) *tx.Error) {
	w.t.Helper()
	err := w.run(signer, exec)
	if err == nil || err.Codespace != string(Space) || err.Code != code {
		w.t.Fatalf("%s: want %s/%d, got %v", what, Space, code, err)
	}
}

func (w *world) enrol(name, inst string) {
	w.must("enrol "+name, "reg", func(ov *state.Tx, env identity.Env) *tx.Error {
		return ExecCustodian(ov, env, env.Signer.ID, &CustodianBody{Custodian: w.ids[name].ID, Institution: inst})
	})
}

func (w *world) escrowBody(version uint32, k int, names ...string) *EscrowBody {
	var cs []*identity.Identity
	for _, n := range names {
		cs = append(cs, w.ids[n])
	}
	b, err := Split(w.ks["pat"], "general", 1, k, cs)
	if err != nil {
		w.t.Fatal(err)
	}
	b.Version = version
	return b
}

func TestHandlersRefuse(t *testing.T) {
	w := newWorld(t)
	pat, dr := w.ids["pat"].ID, w.ids["dr"].ID
	w.refused("a provider enrols a custodian", CodeUnauthorized, "dr", func(ov *state.Tx, env identity.Env) *tx.Error {
		return ExecCustodian(ov, env, env.Signer.ID, &CustodianBody{Custodian: w.ids["c1"].ID, Institution: "A"})
	})
	w.refused("a patient as custodian", CodeInvalid, "reg", func(ov *state.Tx, env identity.Env) *tx.Error {
		return ExecCustodian(ov, env, env.Signer.ID, &CustodianBody{Custodian: pat, Institution: "A"})
	})
	w.enrol("c1", "Inst A")
	w.enrol("c2", "Inst B")
	w.enrol("c3", "Inst A")
	w.refused("enrol twice", CodeDuplicate, "reg", func(ov *state.Tx, env identity.Env) *tx.Error {
		return ExecCustodian(ov, env, env.Signer.ID, &CustodianBody{Custodian: w.ids["c1"].ID, Institution: "Inst A"})
	})

	escrow := func(b *EscrowBody) func(*state.Tx, identity.Env) *tx.Error {
		return func(ov *state.Tx, env identity.Env) *tx.Error { return ExecEscrow(ov, env, env.Signer.ID, b) }
	}
	w.refused("escrow by a provider", CodeUnauthorized, "dr", escrow(w.escrowBody(1, 2, "c1", "c2")))
	w.refused("escrow of a stale key version", CodeKeyVersion, "pat", escrow(w.escrowBody(2, 2, "c1", "c2")))
	w.refused("two shares at one institution", CodeInvalid, "pat", escrow(w.escrowBody(1, 2, "c1", "c3")))
	w.refused("a non-custodian holds a share", CodeNotFound, "pat", escrow(w.escrowBody(1, 2, "c1", "dr2")))
	short := w.escrowBody(1, 2, "c1", "c2")
	short.Shares[1].Sealed = short.Shares[1].Sealed[:100]
	w.refused("a truncated share", CodeInvalid, "pat", escrow(short))
	w.refused("threshold above n", CodeInvalid, "pat", escrow(&EscrowBody{Category: "general", Version: 1, Threshold: 3, Shares: w.escrowBody(1, 2, "c1", "c2").Shares}))

	declare := func(b *DeclareBody) func(*state.Tx, identity.Env) *tx.Error {
		return func(ov *state.Tx, env identity.Env) *tx.Error { return ExecDeclare(ov, env, env.Signer.ID, b) }
	}
	w.refused("declare before any escrow", CodeNotFound, "dr", declare(&DeclareBody{Patient: pat, Reason: "x"}))
	w.must("escrow", "pat", escrow(w.escrowBody(1, 2, "c1", "c2")))
	w.refused("declare for a non-patient", CodeNotFound, "dr", declare(&DeclareBody{Patient: dr, Reason: "x"}))
	w.refused("declare without a reason", CodeInvalid, "dr", declare(&DeclareBody{Patient: pat, Reason: "  "}))
	w.refused("a window over 24h", CodeInvalid, "dr", declare(&DeclareBody{Patient: pat, Reason: "x", Window: 25 * 3600}))
	w.refused("a negative window", CodeInvalid, "dr", declare(&DeclareBody{Patient: pat, Reason: "x", Window: -5}))
	w.refused("an auditor declares", CodeUnauthorized, "aud", declare(&DeclareBody{Patient: pat, Reason: "x"}))
	w.refused("an unescrowed category", CodeNotFound, "dr", declare(&DeclareBody{Patient: pat, Reason: "x", Categories: []string{"hiv"}}))
	w.refused("a reason with an escape sequence", CodeInvalid, "dr", declare(&DeclareBody{Patient: pat, Reason: "x\x1b[2J"}))
	w.refused("a reason over maxText", CodeInvalid, "dr", declare(&DeclareBody{Patient: pat, Reason: strings.Repeat("x", maxText+1)}))
	// The lane's free text may run over several lines.
	w.must("declare", "dr", declare(&DeclareBody{Patient: pat, Reason: "unconscious\n\tno family reachable", Window: 60}))
	d := Declarations(w.st, pat)[0]
	if !d.Expiry.Equal(d.Start.Add(time.Minute)) || d.Purpose != consent.Emergency {
		t.Fatalf("declaration %+v", d)
	}

	release := func(b *ReleaseBody) func(*state.Tx, identity.Env) *tx.Error {
		return func(ov *state.Tx, env identity.Env) *tx.Error { return ExecRelease(ov, env, env.Signer.ID, b) }
	}
	e := GetEscrow(w.st, pat, "general", 1)
	rel, err := Reseal(w.ks["c1"], e, d, w.ids["dr"])
	if err != nil {
		t.Fatal(err)
	}
	w.refused("release by a custodian without a share", CodeUnauthorized, "c3", release(rel))
	w.refused("release by a non-custodian", CodeUnauthorized, "dr2", release(rel))
	w.refused("release of a version never escrowed", CodeNotFound, "c1", release(&ReleaseBody{Declaration: d.ID, Category: "general", Version: 9, Sealed: rel.Sealed}))
	w.refused("release of a malformed share", CodeInvalid, "c1", release(&ReleaseBody{Declaration: d.ID, Category: "general", Version: 1, Sealed: rel.Sealed[1:]}))
	w.must("release", "c1", release(rel))
	w.refused("release twice", CodeDuplicate, "c1", release(rel))

	// A re-escrow of the same version (new shares) starts afresh: c1 may release its new
	// share, and the provider's client combines only shares of the current escrow.
	w.must("re-escrow", "pat", escrow(w.escrowBody(1, 2, "c1", "c2")))
	e2 := GetEscrow(w.st, pat, "general", 1)
	rel3, err := Reseal(w.ks["c1"], e2, d, w.ids["dr"])
	if err != nil {
		t.Fatal(err)
	}
	w.must("release from the new escrow", "c1", release(rel3))
	rel4, err := Reseal(w.ks["c2"], e2, d, w.ids["dr"])
	if err != nil {
		t.Fatal(err)
	}
	w.must("second release from the new escrow", "c2", release(rel4))
	if _, err := Reconstruct(w.ks["dr"], GetDeclaration(w.st, d.ID), e2); err != nil {
		t.Fatalf("rebuild from the new escrow: %v", err)
	}
	if _, err := Reconstruct(w.ks["dr"], GetDeclaration(w.st, d.ID), e); err == nil {
		t.Fatal("one old share rebuilt the key of the replaced escrow")
	}

	// A retired custodian can no longer release.
	w.must("retire", "reg", func(ov *state.Tx, env identity.Env) *tx.Error {
		return ExecCustodian(ov, env, env.Signer.ID, &CustodianBody{Custodian: w.ids["c2"].ID, Retire: true})
	})
	w.refused("release by a retired custodian", CodeUnauthorized, "c2", release(rel4))

	// Break-glass decisions at the edges of the window, on the facts this state holds.
	BreakGlass := func(_ *state.Store, actor, patient, category string, at time.Time) (access.Decision, string) {
		f := records.AccessFacts(w.st, identity.Get(w.st, actor), patient, access.Emergency, at, Facts)
		f.Record = &access.Record{ID: "r1", Patient: patient, Category: category, ResourceType: "Observation"}
		dec := access.Decide(f, access.Request{Action: access.Read, Purpose: access.Emergency})
		return dec, dec.Emergency
	}
	if dec, id := BreakGlass(w.st, dr, pat, "general", d.Start); !dec.Allowed || id != d.ID {
		t.Fatalf("at the start of the window: %+v", dec)
	}
	if dec, _ := BreakGlass(w.st, dr, pat, "general", d.Expiry); dec.Allowed {
		t.Fatal("allowed at the expiry instant")
	}
	if dec, _ := BreakGlass(w.st, dr, pat, "general", d.Start.Add(-time.Second)); dec.Allowed {
		t.Fatal("allowed before the declaration")
	}
	if dec, _ := BreakGlass(w.st, w.ids["dr2"].ID, pat, "general", d.Start); dec.Allowed {
		t.Fatal("allowed for another provider")
	}
	if dec, _ := BreakGlass(w.st, dr, pat, "mental-health", d.Start); dec.Allowed {
		t.Fatal("allowed for an uncovered category")
	}

	w.now = d.Expiry.Add(-time.Second) // the next block is at the expiry instant
	w.refused("release at the expiry instant", CodeWindow, "c1", release(&ReleaseBody{Declaration: d.ID, Category: "general", Version: 1, Sealed: rel.Sealed}))

	// Opting out withdraws the escrow and refuses re-escrow.
	w.must("opt out", "pat", func(ov *state.Tx, env identity.Env) *tx.Error {
		return ExecOptOut(ov, env, env.Signer.ID, &OptOutBody{Categories: []string{"general"}})
	})
	if GetEscrow(w.st, pat, "general", 1) != nil || len(Visible(w.st, pat)) != 0 {
		t.Fatal("the escrow of an opted-out category is still in state")
	}
	w.refused("re-escrow while opted out", CodeOptedOut, "pat", escrow(w.escrowBody(1, 2, "c1", "c3")))
	w.refused("opt-out of an invalid category", CodeInvalid, "pat", func(ov *state.Tx, env identity.Env) *tx.Error {
		return ExecOptOut(ov, env, env.Signer.ID, &OptOutBody{Categories: []string{"Bad Name"}})
	})
}

// TestAdmitMatchesExecution: the mempool's lane check refuses what execution would refuse
// for the signer (a release for a deactivated provider, after the window, by a
// non-custodian; an urgent write without a declaration) and admits what it would accept.
func TestAdmitMatchesExecution(t *testing.T) {
	w := newWorld(t)
	pat, dr := w.ids["pat"].ID, w.ids["dr"].ID
	w.enrol("c1", "Inst A")
	w.enrol("c2", "Inst B")
	w.must("escrow", "pat", func(ov *state.Tx, env identity.Env) *tx.Error {
		return ExecEscrow(ov, env, env.Signer.ID, w.escrowBody(1, 2, "c1", "c2"))
	})
	urgent := &UrgentPutBody{}
	urgent.Meta.Patient = pat
	if err := Admit(w.st, dr, urgent, w.now); err == nil || err.Code != CodeWindow {
		t.Fatalf("urgent write without a declaration admitted: %v", err)
	}
	if err := Admit(w.st, dr, urgent, time.Time{}); err == nil {
		t.Fatal("urgent write without any declaration admitted before the first block")
	}
	w.must("declare", "dr", func(ov *state.Tx, env identity.Env) *tx.Error {
		return ExecDeclare(ov, env, env.Signer.ID, &DeclareBody{Patient: pat, Reason: "x", Window: 30})
	})
	d := Declarations(w.st, pat)[0]
	if err := Admit(w.st, dr, urgent, w.now); err != nil {
		t.Fatalf("urgent write under an active declaration refused: %v", err)
	}
	if err := Admit(w.st, w.ids["dr2"].ID, urgent, w.now); err == nil {
		t.Fatal("urgent write under someone else's declaration admitted")
	}
	rel, err := Reseal(w.ks["c1"], GetEscrow(w.st, pat, "general", 1), d, w.ids["dr"])
	if err != nil {
		t.Fatal(err)
	}
	if err := Admit(w.st, w.ids["c1"].ID, rel, w.now); err != nil {
		t.Fatalf("a valid release refused: %v", err)
	}
	if err := Admit(w.st, dr, rel, w.now); err == nil || err.Code != CodeUnauthorized {
		t.Fatalf("a release by a non-custodian admitted: %v", err)
	}
	if err := Admit(w.st, w.ids["c1"].ID, rel, d.Expiry); err == nil || err.Code != CodeWindow {
		t.Fatalf("a release after the window admitted: %v", err)
	}
	if err := Admit(w.st, w.ids["pat"].ID, &DeclareBody{Patient: pat}, w.now); err == nil || err.Code != CodeUnauthorized {
		t.Fatalf("a declaration by a patient admitted: %v", err)
	}
	// The declaring provider is deactivated: no more releases to it, at admission or execution.
	gone := *w.ids["dr"]
	gone.Active = false
	identity.Put(w.st, &gone)
	if err := Admit(w.st, w.ids["c1"].ID, rel, w.now); err == nil || err.Code != CodeUnauthorized {
		t.Fatalf("a release to a deactivated provider admitted: %v", err)
	}
	w.refused("release to a deactivated provider", CodeUnauthorized, "c1", func(ov *state.Tx, env identity.Env) *tx.Error {
		return ExecRelease(ov, env, env.Signer.ID, rel)
	})
}
