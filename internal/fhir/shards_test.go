package fhir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/shard"
)

// TestGatewayRoutesToTheHomeShard: two EHR shards, each a real node of its own chain, and
// the network description both agree on. A provider's EHR system talks FHIR to shard A's
// gateway only; a patient of shard B is read, searched and written through it, every
// decision and audit event on B, nothing of the patient on A.
func TestGatewayRoutesToTheHomeShard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	homeA, regA := nodetest.InitChain(t, "net-a", app.Params{OpenRegistration: true})
	homeB, regB := nodetest.InitChain(t, "net-b", app.Params{OpenRegistration: true})
	ra, rb := nodetest.Start(t, homeA), nodetest.Start(t, homeB)
	ra.Client.ChainID, rb.Client.ChainID = "net-a", "net-b"
	net := &shard.Network{Name: "net", Shards: []shard.Chain{
		{Name: "a", ChainID: "net-a", API: []string{ra.Client.Base}},
		{Name: "b", ChainID: "net-b", API: []string{rb.Client.Base}},
	}}
	if err := net.Validate(); err != nil {
		t.Fatal(err)
	}
	newKS := func() *keys.Keystore {
		ks, err := keys.NewKeystore("ks")
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	// The physician is a provider of A. B knows her too (on a real network by recognising
	// her entry proven on A, tx 104: internal/interchain and the multi-chain story test).
	provider := func(name, licence string) *keys.Keystore {
		t.Helper()
		ks := newKS()
		for _, s := range []struct {
			c   *client.Client
			reg *keys.Keystore
		}{{ra.Client, regA}, {rb.Client, regB}} {
			if _, err := s.c.Send(ctx, s.reg, client.RegistrationFor(s.c.ChainID, ks, identity.Provider, name, "St Mary", licence)); err != nil {
				t.Fatal(err)
			}
		}
		return ks
	}
	dr := provider("Dr Ames", "MD-1")
	var pat *keys.Keystore
	for pat == nil {
		if ks := newKS(); mustHome(t, net, ks.ID) == "b" {
			pat = ks
		}
	}
	b := rb.Client
	if _, err := b.Send(ctx, pat, client.RegistrationFor(b.ChainID, pat, identity.Patient, "", "", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PublishCategories(ctx, pat, []string{"general"}); err != nil {
		t.Fatal(err)
	}
	put := func(rt, id string, o Object) {
		t.Helper()
		pt, err := Stored(o, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.PutRecord(ctx, pat, client.NewRecord{ID: id, Version: 1, Patient: pat.ID, Category: "general",
			ResourceType: rt, ContentType: ContentType, Plaintext: pt}); err != nil {
			t.Fatal(err)
		}
	}
	put("Patient", pat.ID, Object{"resourceType": "Patient", "name": []any{Object{"family": "Okafor", "given": []any{"Ngozi"}}}, "gender": "female"})
	obsID := "r-" + randHex(t)
	put("Observation", obsID, Object{"resourceType": "Observation", "status": "final",
		"code":    Object{"coding": []any{Object{"system": "http://loinc.org", "code": "8867-4"}}},
		"subject": Object{"reference": "Patient/" + pat.ID}, "valueQuantity": Object{"value": 72.0, "unit": "/min"}})

	gw := Mount(ra.Server, ra.Node, keys.Dir{Path: t.TempDir()})
	gw.Unlock(dr)
	sh, err := NewShards(net, "net-a")
	if err != nil {
		t.Fatal(err)
	}
	gw.Shards = sh
	if _, err := NewShards(net, "net-c"); err == nil {
		t.Fatal("a gateway placed in a network that has no shard of its chain")
	}
	f := &fixture{t: t, gw: gw, base: ra.Client.Base + Prefix}
	tok := f.token(dr)
	readsOnB := func(outcome string) int {
		page, err := b.AuditQuery(ctx, pat, audit.Filter{Patient: pat.ID, Actor: dr.ID, Outcome: outcome})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}

	// Before the patient's grant: refused, and the denial is audited on B.
	if code, o := f.do(tok, "GET", "/Patient/"+pat.ID, nil); code != http.StatusForbidden {
		t.Fatalf("read of B's patient before the grant: %d %v", code, o)
	}
	if code, o := f.do(tok, "GET", "/Observation?patient="+pat.ID, nil); code != http.StatusForbidden {
		t.Fatalf("search of B's patient before the grant: %d %v", code, o)
	}
	waitFor(t, "B to audit both denials", func() bool { return readsOnB(audit.Denied) >= 2 })

	if _, err := b.Grant(ctx, pat, consent.Grant{Grantee: dr.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read, consent.Write}, Purposes: []string{consent.Treatment}}); err != nil {
		t.Fatal(err)
	}
	allowed := readsOnB(audit.Success)
	code, o := f.do(tok, "GET", "/Patient/"+pat.ID, nil)
	if code != http.StatusOK || o["id"] != pat.ID || o["gender"] != "female" {
		t.Fatalf("read of B's patient through A: %d %v", code, o)
	}
	// A record of B by its id alone: A asks the other shards whose it is.
	code, o = f.do(tok, "GET", "/Observation/"+obsID, nil)
	if code != http.StatusOK || o["id"] != obsID || fmt.Sprint(o["valueQuantity"].(Object)["value"]) != "72" {
		t.Fatalf("read of B's Observation through A: %d %v", code, o)
	}
	// Another provider of A, whom the patient granted nothing, is refused where the record is.
	dr2 := provider("Dr Two", "MD-2")
	gw.Unlock(dr2)
	if code, o := f.do(f.token(dr2), "GET", "/Observation/"+obsID, nil); code != http.StatusForbidden {
		t.Fatalf("B's Observation read by a provider without a grant: %d %v", code, o)
	}
	if code, o := f.do(tok, "GET", "/Observation/r-"+randHex(t), nil); code != http.StatusNotFound {
		t.Fatalf("a record on no shard: %d %v", code, o)
	}
	if code, o := f.do(tok, "GET", "/Patient/"+obsID, nil); code != http.StatusNotFound {
		t.Fatalf("an Observation's id read as a Patient: %d %v", code, o)
	}
	code, o = f.do(tok, "GET", "/Observation?patient="+pat.ID+"&code=8867-4", nil)
	if code != http.StatusOK || fmt.Sprint(o["total"]) != "1" {
		t.Fatalf("search of B's patient through A: %d %v", code, o)
	}
	if code, o := f.do(tok, "GET", "/Observation?patient="+pat.ID+"&code=2339-0", nil); code != http.StatusOK || fmt.Sprint(o["total"]) != "0" {
		t.Fatalf("search filtered on content: %d %v", code, o)
	}
	if code, o := f.do(tok, "GET", "/Patient?_id="+pat.ID, nil); code != http.StatusOK || fmt.Sprint(o["total"]) != "1" {
		t.Fatalf("Patient?_id of B's patient: %d %v", code, o)
	}
	if code, o := f.do(tok, "GET", "/Patient/"+pat.ID+"/Observation", nil); code != http.StatusOK || fmt.Sprint(o["total"]) != "1" {
		t.Fatalf("the compartment of B's patient: %d %v", code, o)
	}
	code, o = f.do(tok, "GET", "/Patient/"+pat.ID+"/$everything", nil)
	if entries, _ := o["entry"].([]any); code != http.StatusOK || len(entries) != 2 || entries[0].(Object)["resource"].(Object)["resourceType"] != "Patient" {
		t.Fatalf("$everything of B's patient: %d %v", code, o)
	}
	if code, o := f.do(tok, "GET", "/Observation/"+obsID+"/_history", nil); code != http.StatusNotImplemented {
		t.Fatalf("history of B's record through A: %d %v", code, o)
	}
	if code, o := f.do(tok, "GET", "/Observation?patient="+pat.ID+"&_include=Observation:subject", nil); code != http.StatusBadRequest {
		t.Fatalf("_include across shards: %d %v", code, o)
	}
	waitFor(t, "B to audit the allowed reads", func() bool { return readsOnB(audit.Success) >= allowed+8 })

	// A write for B's patient lands on B, in the physician's name; A holds nothing of it.
	code, o = f.do(tok, "POST", "/Observation", Object{"resourceType": "Observation", "status": "final",
		"code":    Object{"coding": []any{Object{"system": "http://loinc.org", "code": "2339-0"}}},
		"subject": Object{"reference": "Patient/" + pat.ID}, "valueQuantity": Object{"value": 5.4, "unit": "mmol/L"}})
	if code != http.StatusCreated {
		t.Fatalf("create for B's patient through A: %d %v", code, o)
	}
	newID, _ := o["id"].(string)
	if m := records.Version(rb.Node.View(), newID, records.Head(rb.Node.View(), newID)); m == nil || m.Author != dr.ID || m.Patient != pat.ID {
		t.Fatalf("the created Observation on B: %+v", m)
	}
	if records.Head(ra.Node.View(), newID) != 0 || identity.Get(ra.Node.View(), pat.ID) != nil {
		t.Fatal("shard A holds B's patient or record")
	}
	if meta := o["meta"].(Object); meta["versionId"] != "1" || meta["lastUpdated"] == time.Unix(0, 0).UTC().Format(time.RFC3339) {
		t.Fatalf("the created resource's meta: %v", meta)
	}
	o["valueQuantity"] = Object{"value": 5.9, "unit": "mmol/L"}
	if code, o := f.do(tok, "PUT", "/Observation/"+newID, o); code != http.StatusOK || o["meta"].(Object)["versionId"] != "2" {
		t.Fatalf("update for B's patient through A: %d %v", code, o)
	}
	if code, o := f.do(tok, "GET", "/Observation?patient="+pat.ID+"&code=2339-0", nil); code != http.StatusOK || fmt.Sprint(o["total"]) != "1" {
		t.Fatalf("search after the update: %d %v", code, o)
	}
	// A patient who is not registered on their home shard is not a patient to write for.
	stranger := newKS()
	for mustHome(t, net, stranger.ID) != "b" {
		stranger = newKS()
	}
	if code, o := f.do(tok, "POST", "/Observation", Object{"resourceType": "Observation", "status": "final",
		"code": Object{"text": "x"}, "subject": Object{"reference": "Patient/" + stranger.ID}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("create for an unregistered patient of B: %d %v", code, o)
	}

	// B stops: its patients are unavailable through A, and say so.
	rb.Stop()
	if code, o := f.do(tok, "GET", "/Patient/"+pat.ID, nil); code != http.StatusServiceUnavailable {
		t.Fatalf("read of B's patient with B stopped: %d %v", code, o)
	}
}

func mustHome(t *testing.T, n *shard.Network, id string) string {
	t.Helper()
	h, err := n.Home(id)
	if err != nil {
		t.Fatal(err)
	}
	return h.Name
}

func randHex(t *testing.T) string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// waitFor polls cond until it holds (audit events are committed in a block after the read
// they record), failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
