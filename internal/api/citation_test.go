package api_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// TestRecordCitationsEndpoint: on a real node, a pharmacist cites from its
// MedicationDispense record a dispense proven in a supply chain's real state store
// (headers signed by four CometBFT validator keys); GET /v1/records/{id}/citations answers
// the citation with its proof to the record's patient, its author and an auditor, refuses
// an unsigned query and another provider, and the answer verifies offline against the
// app hash of its height, and fails with a byte changed.
func TestRecordCitationsEndpoint(t *testing.T) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := r.Client
	cast := nodetest.RegisterCast(t, ctx, c, reg)
	chainID, err := c.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}

	const item = "urn:epc:id:sgtin:4012345.012345.1001"
	hashID := "ni:///sha-256;" + hex.EncodeToString(bytes.Repeat([]byte{0x5a}, 32)) + "?ver=CBV2.0"
	digest := supply.Digest(hashID)
	ev, _ := json.Marshal(&supply.StoredEvent{HashID: hashID, Type: "ObjectEvent", CapturedBy: "pharmacy", Height: 1, Seq: 1,
		Event: []byte(`{"type":"ObjectEvent","action":"OBSERVE","bizStep":"dispensing","epcList":["` + item + `"]}`)})
	_, p := followSupply(t, ctx, c, reg, cast.Provider, supply.EventKey(digest), ev)
	m, err := c.PutRecord(ctx, cast.Provider, client.NewRecord{ID: "disp-1", Patient: cast.Patient.ID, Category: "general",
		ResourceType: crosstx.DispenseResourceType, ContentType: "application/fhir+json", Plaintext: []byte(`{"resourceType":"MedicationDispense"}`)})
	if err != nil {
		t.Fatal(err)
	}
	body := &crosstx.CiteBody{Record: m.RecordID, ClientID: "supply", Digest: digest, EPC: item, Event: ev, Proof: (*wire.Proof)(p)}
	if res, err := c.CiteDispense(ctx, cast.Provider, body); err != nil || res.Code != 0 {
		t.Fatalf("cite: %+v, %v", res, err)
	}

	wantStatus := func(what string, err error, status int) {
		t.Helper()
		var e *client.Error
		if !errors.As(err, &e) || e.Status != status {
			t.Fatalf("%s: got %v, want HTTP %d", what, err, status)
		}
	}
	_, err = c.Citations(ctx, "disp-1")
	wantStatus("an unsigned query", err, http.StatusUnauthorized)
	other, err := keys.NewKeystore("other")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.Send(ctx, reg, client.RegistrationFor(chainID, other, identity.Provider, "Dr Other", "Elsewhere", "MD-2")); err != nil || res.Code != 0 {
		t.Fatalf("register another provider: %+v %v", res, err)
	}
	_, err = c.As(other).Citations(ctx, "disp-1")
	wantStatus("another provider", err, http.StatusForbidden)
	_, err = c.As(cast.Patient).Citations(ctx, "disp-9")
	wantStatus("a record that does not exist", err, http.StatusNotFound)
	for _, who := range []*keys.Keystore{cast.Provider, cast.Auditor} {
		ans, err := c.As(who).Citations(ctx, "disp-1")
		if err != nil || len(ans.Citations) != 1 {
			t.Fatalf("citations as %s: %+v, %v", who.Name, ans, err)
		}
	}

	// The patient's answer, checked against the app hash of its height.
	var ans *crosstx.CitationsAnswer
	var appHash []byte
	for ctx.Err() == nil {
		if ans, err = c.As(cast.Patient).Citations(ctx, "disp-1"); err != nil {
			t.Fatal(err)
		}
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Height == ans.Height {
			appHash, _ = hex.DecodeString(st.AppHash)
			break
		}
	}
	if appHash == nil {
		t.Fatal("no status at the answer's height before the deadline")
	}
	if len(ans.Citations) != 1 {
		t.Fatalf("answer: %+v", ans)
	}
	got := ans.Citations[0].Citation
	if got.Digest != digest || got.ChainID != "supply-1" || got.Height != 1 || got.EPC != supply.CanonicalID(item) || got.CitedBy != cast.Provider.ID {
		t.Fatalf("citation: %+v", got)
	}
	if err := ans.Verify(appHash); err != nil {
		t.Fatalf("the answer does not verify: %v", err)
	}
	flippedProof := *ans
	flippedProof.Citations = []crosstx.ProvenCitation{ans.Citations[0]}
	flippedProof.Citations[0].Proof.Map = bytes.Clone(ans.Citations[0].Proof.Map)
	flippedProof.Citations[0].Proof.Map[len(flippedProof.Citations[0].Proof.Map)/2] ^= 1
	if flippedProof.Verify(appHash) == nil {
		t.Fatal("a proof with a flipped byte verifies")
	}
	changed := *ans
	cc := *ans.Citations[0].Citation
	cc.EPC = "urn:epc:id:sgtin:4012345.012345.1002"
	changed.Citations = []crosstx.ProvenCitation{{Citation: &cc, Value: ans.Citations[0].Value, Proof: ans.Citations[0].Proof}}
	if changed.Verify(appHash) == nil {
		t.Fatal("a changed citation verifies")
	}
	if ans.Verify(append(bytes.Clone(appHash[:len(appHash)-1]), appHash[len(appHash)-1]^1)) == nil {
		t.Fatal("the answer verifies against another app hash")
	}
}
