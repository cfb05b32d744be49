package interchain_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

func recognition(client, id string, p proven) *crosstx.RecogniseBody {
	return &crosstx.RecogniseBody{ClientID: client, Identity: id, Entry: p.value, Proof: (*wire.Proof)(p.proof)}
}

// flipped is p with one byte of its ICS-23 proof changed.
func flipped(p proven) proven {
	q := *p.proof
	q.Map = bytes.Clone(p.proof.Map)
	q.Map[len(q.Map)/2] ^= 0x01
	p.proof = &q
	return p
}

// relabelled is p claimed for another height of the source chain.
func relabelled(p proven, h int64) proven {
	q := *p.proof
	q.Height = h
	p.proof = &q
	return p
}

func (c *appChain) lastEvent() *audit.Event {
	c.t.Helper()
	v := c.view()
	leaf, err := v.Leaf(v.LogSize() - 1)
	if err != nil {
		c.t.Fatal(err)
	}
	ev, err := audit.Decode(leaf)
	if err != nil {
		c.t.Fatal(err)
	}
	return ev
}

// TestRecogniseProviderFromAnotherShard: shard B follows a real shard A with a light client;
// a provider registered on A is recognised on B from a proof of its identity entry in A's
// state, the patient on B grants it, and it reads and writes on B with the keys A holds for
// it, audited on B. Every refusal is tried on the way: a client the registrar did not
// admit, a frozen or unknown client, a flipped byte, a height never verified, another
// role, a deactivated entry, a stale proof. A's deactivation, proven later, deactivates
// it on B, and the older proof cannot bring it back. Replaying B's blocks gives the same
// app hashes.
func TestRecogniseProviderFromAnotherShard(t *testing.T) {
	src := realSource(t)
	dr := src.provider
	b := newAppChain(t, "ehr-b", src.blocks[src.h2+1].Time.Add(time.Minute))
	relayer := newKS(t, "relayer")
	b.register(relayer, identity.Auditor, "", "")
	b.follow("shard-a", src.chainID, relayer, src.blocks[1], src.blocks[src.h1+1], src.blocks[src.h2+1])
	b.follow("supply", src.chainID, relayer, src.blocks[1], src.blocks[src.h1+1])
	b.frozenClient("frozen", relayer)
	pat, ck := b.patient("pat")
	b.write(pat, pat.ID, ck, "note-1", "Observation")

	// Anyone may submit a recognition: here the patient does.
	b.refused("a client the registrar has not admitted as a home of providers", pat, recognition("supply", dr.ID, src.providerAt1), interchain.CodeNotAdmitted)
	b.refused("admission by an auditor", relayer, &crosstx.AdmitBody{ClientID: "shard-a", Admit: true}, interchain.CodeUnauthorized)
	b.refused("admission of an unknown client", b.reg, &crosstx.AdmitBody{ClientID: "nowhere", Admit: true}, interchain.CodeNotFound)
	b.ok("the registrar admits shard A", b.reg, &crosstx.AdmitBody{ClientID: "shard-a", Admit: true})
	b.ok("and the frozen client", b.reg, &crosstx.AdmitBody{ClientID: "frozen", Admit: true})
	b.refused("a frozen client", pat, recognition("frozen", dr.ID, src.providerAt1), interchain.CodeFrozen)
	b.refused("an unknown client", pat, recognition("nowhere", dr.ID, src.providerAt1), interchain.CodeNotFound)
	b.refused("a proof with a flipped byte", pat, recognition("shard-a", dr.ID, flipped(src.providerAt1)), interchain.CodeProof)
	changed := src.providerAt1
	changed.value = bytes.Replace(changed.value, []byte(`"Dr"`), []byte(`"Dx"`), 1)
	b.refused("an entry with a changed name", pat, recognition("shard-a", dr.ID, changed), interchain.CodeProof)
	b.refused("the provider's entry claimed for another id", pat, recognition("shard-a", pat.ID, src.providerAt1), interchain.CodeProof)
	b.refused("a height whose header was never verified", pat, recognition("shard-a", dr.ID, relabelled(src.providerAt1, src.h2+5)), interchain.CodeUnverified)
	b.refused("a patient of shard A", pat, recognition("shard-a", string(src.patientAt1.key[len("id/"):]), src.patientAt1), interchain.CodeWrongRole)
	b.refused("a provider already deactivated on A", pat, recognition("shard-a", dr.ID, src.providerAt2), interchain.CodeRevoked)
	if b.identity(dr.ID) != nil {
		t.Fatal("a refused recognition left an identity")
	}

	b.ok("recognise the provider", pat, recognition("shard-a", dr.ID, src.providerAt1))
	got := b.identity(dr.ID)
	switch {
	case got == nil || got.Home == nil:
		t.Fatalf("recognised provider on B: %+v", got)
	case got.Home.ChainID != src.chainID || got.Home.Client != "shard-a" || got.Home.ProvenAt != src.h1:
		t.Fatalf("home of the recognised provider: %+v", got.Home)
	case got.Role != identity.Provider || !got.Active || !bytes.Equal(got.SignKey, dr.Keys.SignPublic()) || !bytes.Equal(got.EncKey, dr.Keys.EncPublic()):
		t.Fatalf("recognised provider: %+v", got)
	}
	if ev := b.lastEvent(); ev.Action != interchain.ActionRecognise || ev.Subject != dr.ID || ev.Actor != pat.ID {
		t.Fatalf("recognition audit event: %+v", ev)
	}
	b.refused("the same proof again", pat, recognition("shard-a", dr.ID, src.providerAt1), interchain.CodeStale)

	// On B the provider is a provider: the patient grants it, it reads (audited on B) and
	// writes with the keys proven from A.
	if out := b.read(dr, pat.ID, "note-1"); out == nil || out.Allowed {
		t.Fatalf("read before the grant: %+v", out)
	}
	b.grant(pat, dr.ID)
	out := b.read(dr, pat.ID, "note-1")
	if out == nil || !out.Allowed || out.Grant == "" {
		t.Fatalf("the recognised provider's read under the grant: %+v", out)
	}
	if ev := b.lastEvent(); ev.Action != audit.RecordRead || ev.Actor != dr.ID || ev.Outcome != audit.Success || ev.Patient != pat.ID || ev.Record != "note-1" {
		t.Fatalf("read audit event on B: %+v", ev)
	}
	b.write(dr, pat.ID, ck, "note-2", "Observation")
	next, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	rotate := &identity.Rotate{ID: dr.ID, SignKey: next.SignPublic(), EncKey: next.EncPublic(),
		Proof: identity.SignPop(next.Sign, b.chainID, "rotate", dr.ID, next.EncPublic())}
	b.expect("the recognised provider rotates its keys on B", dr, rotate, identity.Space, identity.CodeUnauthorized)

	// A deactivated it; the proof of that deactivates it on B, even after B's registrar
	// withdrew the admission of A, and the older proof of its active entry cannot bring it
	// back.
	b.ok("the registrar withdraws the admission of shard A", b.reg, &crosstx.AdmitBody{ClientID: "shard-a", Admit: false})
	b.refused("an active entry through the withdrawn client", pat, recognition("shard-a", dr.ID, src.providerAt1), interchain.CodeNotAdmitted)
	b.ok("recognise A's deactivation", relayer, recognition("shard-a", dr.ID, src.providerAt2))
	if got := b.identity(dr.ID); got.Active || got.Deactivated == 0 || got.Home.ProvenAt != src.h2 {
		t.Fatalf("after A's deactivation: %+v", got)
	}
	if out := b.read(dr, pat.ID, "note-1"); out != nil && out.Allowed {
		t.Fatalf("read by the provider A deactivated: %+v", out)
	}
	b.ok("the registrar admits shard A again", b.reg, &crosstx.AdmitBody{ClientID: "shard-a", Admit: true})
	b.refused("the proof from before the deactivation", pat, recognition("shard-a", dr.ID, src.providerAt1), interchain.CodeStale)
	b.expect("a transaction signed by it", dr, &crosstx.AdmitBody{ClientID: "shard-a"}, tx.Space, tx.CodeInactive)
	b.replay()
}

// TestRecognitionNeverReplacesALocalIdentity: an id registered on this chain itself is not
// taken over by another chain's entry, neither with the same keys nor after it rotated
// them here.
func TestRecognitionNeverReplacesALocalIdentity(t *testing.T) {
	src := realSource(t)
	dr := src.provider
	c := newAppChain(t, "ehr-c", src.blocks[src.h2+1].Time.Add(time.Minute))
	c.follow("shard-a", src.chainID, c.reg, src.blocks[1], src.blocks[src.h1+1])
	c.ok("admit shard A", c.reg, &crosstx.AdmitBody{ClientID: "shard-a", Admit: true})
	c.register(dr, identity.Provider, "St Mary", "MD-1")
	c.refused("the id registered here with the same keys", c.reg, recognition("shard-a", dr.ID, src.providerAt1), interchain.CodeKeyConflict)
	next, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	c.ok("the local provider rotates", dr, &identity.Rotate{ID: dr.ID, SignKey: next.SignPublic(), EncKey: next.EncPublic(),
		Proof: identity.SignPop(next.Sign, c.chainID, "rotate", dr.ID, next.EncPublic())})
	c.refused("the id registered here with other keys", c.reg, recognition("shard-a", dr.ID, src.providerAt1), interchain.CodeKeyConflict)
	if got := c.identity(dr.ID); got.Home != nil || !bytes.Equal(got.SignKey, next.SignPublic()) {
		t.Fatalf("the local identity changed: %+v", got)
	}
}
