package app

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/interchain/interchaintest"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// rawBody is a body of type typ whose JSON is whatever the test gives.
type rawBody struct {
	typ  tx.Type
	json []byte
}

func (b rawBody) Type() tx.Type       { return b.typ }
func (b rawBody) Encode(w *tx.Writer) { w.PutBytes(b.json) }

// TestCrossChainTxsThroughTheApp routes types 103-105 through the app: a counterparty's
// real state store holds a provider's identity entry and a dispensing event, its headers
// are signed by four CometBFT validator keys; the registrar admits the counterparty as a
// home of providers, anyone recognises the provider, the patient grants it and it reads;
// the local provider cites the dispense from its MedicationDispense record. Refusals come
// back with the interchain codes, and replaying every block gives the same app hashes.
func TestCrossChainTxsThroughTheApp(t *testing.T) {
	h := newHarness(t)
	c := newErasureCast(h)
	remote := newKS(t, "dr-remote")
	entry := (&identity.Identity{ID: remote.ID, Role: identity.Provider, Name: "Dr Remote", Organization: "Shard A Clinic", Licence: "MD-9",
		SignKey: remote.Keys.SignPublic(), EncKey: remote.Keys.EncPublic(), KeyVersion: 1, Active: true, RegisteredBy: "a-registrar", RegisteredAt: 1}).Encode()
	const pack = "urn:epc:id:sgtin:4012345.012345.1001"
	hashID := "ni:///sha-256;" + hex.EncodeToString(make([]byte, 32)) + "?ver=CBV2.0"
	digest := supply.Digest(hashID)
	event, _ := json.Marshal(&supply.StoredEvent{HashID: hashID, Type: "ObjectEvent", CapturedBy: "pharmacy", Height: 1, Seq: 1,
		Event: []byte(`{"type":"ObjectEvent","action":"OBSERVE","bizStep":"dispensing","epcList":["` + pack + `"]}`)})

	a, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Set(identity.Key(remote.ID), entry)
	a.Set(supply.EventKey(digest), event)
	cm, err := a.Commit(1)
	if err != nil {
		t.Fatal(err)
	}
	prove := func(key []byte) *wire.Proof {
		p, err := a.Committed().Prove(key)
		if err != nil {
			t.Fatal(err)
		}
		return (*wire.Proof)(p)
	}
	vals := interchaintest.NewSet("shard-a", 4, 10)
	h.mustOK(h.sign(h.reg, &interchain.CreateBody{ClientID: "shard-a", ChainID: "supply-1", TrustingPeriod: 7 * 24 * time.Hour,
		LightBlock: lightBlock(t, counterpartyHeader(vals, 1, "state 0"))}))
	h.mustOK(h.sign(c.provider, &interchain.UpdateBody{ClientID: "shard-a", TrustedHeight: 1, LightBlock: lightBlock(t, counterpartyHeader(vals, 2, string(cm.AppHash)))}))

	recognise := &crosstx.RecogniseBody{ClientID: "shard-a", Identity: remote.ID, Entry: entry, Proof: prove(identity.Key(remote.ID))}
	wantCode(t, "recognition before admission", h.one(c.patient, recognise), interchain.Space, interchain.CodeNotAdmitted)
	wantCode(t, "admission by a provider", h.one(c.provider, &crosstx.AdmitBody{ClientID: "shard-a", Admit: true}), interchain.Space, interchain.CodeUnauthorized)
	h.mustOK(h.sign(h.reg, &crosstx.AdmitBody{ClientID: "shard-a", Admit: true}))
	wantCode(t, "a recognition that is not JSON", h.one(c.patient, rawBody{crosstx.TypeRecognise, []byte("{not json")}), tx.Space, tx.CodeMalformed)
	h.mustOK(h.sign(c.patient, recognise))
	if got := h.identity(remote.ID); got == nil || got.Home == nil || got.Home.ProvenAt != 1 {
		t.Fatalf("recognised provider: %+v", got)
	}
	share := make([]byte, 1168)
	rand.Read(share)
	h.mustOK(h.sign(c.patient, &consent.GrantBody{Grant: consent.Grant{Grantee: remote.ID, Actions: []string{"read"}, Purposes: []string{"treatment"},
		KeyShares: []consent.KeyShare{{Category: "general", Version: 1, Recipient: remote.ID, Wrapped: share}, {Category: "mental-health", Version: 1, Recipient: remote.ID, Wrapped: share}}}}))
	if out := h.readRecord(remote, c.patient.ID, "r-gen"); out == nil || !out.Allowed {
		t.Fatalf("the recognised provider's read: %+v", out)
	}

	// The local provider's MedicationDispense record cites the dispense.
	ck := consent.CurrentKey(h.st.Committed(), c.patient.ID, "general")
	aad := envelope.AAD("disp-1", 1, c.patient.ID, "general")
	dk, ct, err := envelope.Seal([]byte(`{"resourceType":"MedicationDispense"}`), aad)
	if err != nil {
		t.Fatal(err)
	}
	m := records.Meta{RecordID: "disp-1", Version: 1, Patient: c.patient.ID, Category: "general", ResourceType: crosstx.DispenseResourceType,
		ContentType: "application/fhir+json", Digest: sha256.Sum256(ct), Size: uint64(len(ct)), CategoryVersion: ck.Version, AuthorKeyVersion: 1}
	if m.PatientWrap, err = envelope.WrapKey(ck.EncKey, dk, aad); err != nil {
		t.Fatal(err)
	}
	if m.AuthorWrap, err = envelope.WrapKey(c.provider.Keys.EncPublic(), dk, aad); err != nil {
		t.Fatal(err)
	}
	h.mustOK(h.sign(c.provider, &records.PutBody{Meta: m, Ciphertext: ct}))
	cite := &crosstx.CiteBody{Record: "disp-1", ClientID: "shard-a", Digest: digest, EPC: pack, Event: event, Proof: prove(supply.EventKey(digest))}
	wantCode(t, "a citation by the recognised provider of a record it did not write", h.one(remote, cite), interchain.Space, interchain.CodeNotAuthor)
	h.mustOK(h.sign(c.provider, cite))
	if got := interchain.Citations(h.st.Committed(), "disp-1"); len(got) != 1 || got[0].EPC != supply.CanonicalID(pack) {
		t.Fatalf("citations: %+v", got)
	}

	// Shard A rotates the provider's keys; the proof of its newer entry (state 2, in header
	// 3) moves B to the new keys, and the older proof is stale.
	next := newKS(t, "dr-remote-next")
	rotated := (&identity.Identity{ID: remote.ID, Role: identity.Provider, Name: "Dr Remote", Organization: "Shard A Clinic", Licence: "MD-9",
		SignKey: next.Keys.SignPublic(), EncKey: next.Keys.EncPublic(), KeyVersion: 2, Active: true, RegisteredBy: "a-registrar", RegisteredAt: 1, RotatedAt: 2}).Encode()
	a.Set(identity.Key(remote.ID), rotated)
	cm2, err := a.Commit(2)
	if err != nil {
		t.Fatal(err)
	}
	h.mustOK(h.sign(c.provider, &interchain.UpdateBody{ClientID: "shard-a", TrustedHeight: 2, LightBlock: lightBlock(t, counterpartyHeader(vals, 3, string(cm2.AppHash)))}))
	wantCode(t, "the entry before the rotation again", h.one(c.auditor, recognise), interchain.Space, interchain.CodeStale)
	h.mustOK(h.sign(c.auditor, &crosstx.RecogniseBody{ClientID: "shard-a", Identity: remote.ID, Entry: rotated, Proof: prove(identity.Key(remote.ID))}))
	got := h.identity(remote.ID)
	if !bytes.Equal(got.SignKey, next.Keys.SignPublic()) || got.KeyVersion != 2 || got.RotatedAt == 0 || got.Home.ProvenAt != 2 || !got.Active {
		t.Fatalf("after the rotation on A: %+v", got)
	}
	replayTwice(t, h)
}
