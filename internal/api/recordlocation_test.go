package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// TestRecordLocationIsForThoseEntitled: whose record an id is is answered to its patient,
// its author, a grantee, the registrar and an auditor; an unsigned query, another patient
// and a provider without a grant are refused, and an unknown id is not found.
func TestRecordLocationIsForThoseEntitled(t *testing.T) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := r.Client
	cast := nodetest.RegisterCast(t, ctx, c, reg)
	chainID, _ := c.ChainIDOf(ctx)
	newKS := func() *keys.Keystore {
		ks, err := keys.NewKeystore("ks")
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	dr2, other := newKS(), newKS()
	if _, err := c.Send(ctx, reg, client.RegistrationFor(chainID, dr2, identity.Provider, "Dr Two", "City Clinic", "MD-2")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, other, client.RegistrationFor(chainID, other, identity.Patient, "", "", "")); err != nil {
		t.Fatal(err)
	}
	m, err := c.PutRecord(ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: []byte(`{"resourceType":"Observation"}`)})
	if err != nil {
		t.Fatal(err)
	}
	status := func(err error) int {
		if ce, ok := err.(*client.Error); ok {
			return ce.Status
		}
		return 0
	}
	for _, who := range []*keys.Keystore{cast.Patient, cast.Provider, reg, cast.Auditor} {
		loc, err := c.RecordLocation(ctx, who, m.RecordID)
		if err != nil || loc.Patient != cast.Patient.ID || loc.ResourceType != "Observation" || loc.Version != 1 || loc.Category != "general" || loc.Time == 0 {
			t.Fatalf("location asked by %s: %+v, %v", who.ID, loc, err)
		}
	}
	for _, who := range []*keys.Keystore{other, dr2} {
		if _, err := c.RecordLocation(ctx, who, m.RecordID); status(err) != http.StatusForbidden {
			t.Fatalf("location asked by %s, not entitled: %v", who.ID, err)
		}
	}
	resp, err := http.Get(c.Base + "/v1/records/" + m.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an unsigned location query: %d", resp.StatusCode)
	}
	if _, err := c.RecordLocation(ctx, reg, "r-000000000000000000000000"); status(err) != http.StatusNotFound {
		t.Fatalf("location of an unknown record: %v", err)
	}
	// A grant makes dr2 entitled.
	if _, err := c.Grant(ctx, cast.Patient, consent.Grant{Grantee: dr2.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}}); err != nil {
		t.Fatal(err)
	}
	if loc, err := c.RecordLocation(ctx, dr2, m.RecordID); err != nil || loc.Patient != cast.Patient.ID {
		t.Fatalf("location asked by a grantee: %+v, %v", loc, err)
	}
}
