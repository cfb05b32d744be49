package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestEmergencyNeedsAnEntitledSignedQuery: a declaration says which provider opened which
// patient's records and why. Anonymous questions about break-glass use are refused; the
// patient and auditors see all of it, a provider its own declarations, a custodian those
// that ask for its shares (without the reason), and every other party nothing. The
// custodian and the provider still do their part through signed queries: shares are
// released and the emergency read opens the record.
func TestEmergencyNeedsAnEntitledSignedQuery(t *testing.T) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := r.Client
	cast := nodetest.RegisterCast(t, ctx, c, reg) // dr (cast.Provider) registered pat (cast.Patient)
	dr, pat, aud := cast.Provider, cast.Patient, cast.Auditor
	chainID, _ := c.ChainIDOf(ctx)
	newKS := func(name string) *keys.Keystore {
		ks, err := keys.NewKeystore(name)
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	er, c1, c2, c3, ins, other := newKS("dr-er"), newKS("c1"), newKS("c2"), newKS("c3"), newKS("insurer"), newKS("other-patient")
	for _, s := range []struct {
		signer *keys.Keystore
		body   *identity.Register
	}{
		{reg, client.RegistrationFor(chainID, er, identity.Provider, "Dr ER", "County General", "MD-ER")},
		{reg, client.RegistrationFor(chainID, c1, identity.Provider, "St Mary escrow", "St Mary", "ESC-1")},
		{reg, client.RegistrationFor(chainID, c2, identity.Provider, "City Clinic escrow", "City Clinic", "ESC-2")},
		{reg, client.RegistrationFor(chainID, c3, identity.Provider, "County escrow", "County General", "ESC-3")},
		{reg, client.RegistrationFor(chainID, ins, identity.Insurer, "Acme", "Acme Health", "")},
		{dr, client.RegistrationFor(chainID, other, identity.Patient, "", "", "")},
	} {
		_, err := c.Send(ctx, s.signer, s.body)
		must(err)
	}
	for _, cu := range []struct {
		ks   *keys.Keystore
		inst string
	}{{c1, "St Mary"}, {c2, "City Clinic"}, {c3, "County General"}} {
		must(c.EnrolCustodian(ctx, reg, cu.ks.ID, cu.inst))
	}
	// pat escrows general 2-of-2 with c1 and c2; c3 is a custodian pat did not choose.
	must(c.Escrow(ctx, pat, []string{"general"}, 2, []string{c1.ID, c2.ID}))
	rec, err := c.PutRecord(ctx, dr, client.NewRecord{Patient: pat.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: []byte(`{"resourceType":"Observation","id":"bp"}`)})
	must(err)
	d1, err := c.Declare(ctx, dr, emergency.DeclareBody{Patient: pat.ID, Reason: "collapsed in clinic"})
	must(err)
	d2, err := c.Declare(ctx, er, emergency.DeclareBody{Patient: pat.ID, Reason: "unconscious after a road accident"})
	must(err)

	refused := func(what string, err error, status int, code uint32) {
		t.Helper()
		e, ok := err.(*client.Error)
		if !ok || e.Status != status || e.Codespace != string(identity.Space) || e.Code != code {
			t.Fatalf("%s: got %v, want HTTP %d identity/%d", what, err, status, code)
		}
	}
	_, err = c.Declarations(ctx, false)
	refused("anonymous list of declarations", err, http.StatusUnauthorized, identity.CodeUnsigned)
	_, err = c.Declarations(ctx, true)
	refused("anonymous list of open declarations", err, http.StatusUnauthorized, identity.CodeUnsigned)
	_, err = c.Declaration(ctx, d1)
	refused("anonymous declaration by id", err, http.StatusUnauthorized, identity.CodeUnsigned)
	_, err = c.Declaration(ctx, "e-0000000000000000")
	refused("anonymous probe for a declaration id", err, http.StatusUnauthorized, identity.CodeUnsigned)
	_, err = c.PatientEmergency(ctx, pat.ID)
	refused("anonymous patient emergency view", err, http.StatusUnauthorized, identity.CodeUnsigned)
	if cs, err := c.Custodians(ctx); err != nil || len(cs) != 3 {
		t.Fatalf("the custodians (institutions' escrow services) stay public: %v, %v", cs, err)
	}

	// Who sees which declarations, in the list and in the patient's view.
	ids := func(ds []*emergency.Declaration) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		slices.Sort(out)
		return out
	}
	both := []string{d1, d2}
	slices.Sort(both)
	for _, w := range []struct {
		who      *keys.Keystore
		list     []string // GET /v1/emergency/declarations
		view     []string // GET /v1/patients/{pat}/emergency
		escrows  int      // in the patient's view
		visible  bool     // sees the patient's emergency-visible categories
		redacted bool     // reasons stripped
	}{
		{pat, both, both, 1, true, false},
		{aud, both, both, 1, true, false},
		{dr, []string{d1}, []string{d1}, 0, false, false},
		{er, []string{d2}, []string{d2}, 0, false, false},
		{c1, both, both, 1, false, true},
		{c2, both, both, 1, false, true},
		{c3, nil, nil, 0, false, true}, // a custodian holding no share of pat's
	} {
		ds, err := c.As(w.who).Declarations(ctx, false)
		if err != nil || !slices.Equal(ids(ds), w.list) {
			t.Errorf("%s lists declarations %v (%v), want %v", w.who.Name, ids(ds), err, w.list)
		}
		pe, err := c.As(w.who).PatientEmergency(ctx, pat.ID)
		if err != nil {
			t.Fatalf("%s asks for the patient's emergency view: %v", w.who.Name, err)
		}
		if !slices.Equal(ids(pe.Declarations), w.view) || len(pe.Escrows) != w.escrows || (len(pe.Visible) > 0) != w.visible || pe.Visible == nil {
			t.Errorf("%s sees declarations %v, %d escrows, visible %v; want %v, %d, %v", w.who.Name, ids(pe.Declarations), len(pe.Escrows), pe.Visible, w.view, w.escrows, w.visible)
		}
		for _, d := range append(ds, pe.Declarations...) {
			if (d.Reason == "") != w.redacted {
				t.Errorf("%s sees the reason %q of %s; redacted should be %v", w.who.Name, d.Reason, d.ID, w.redacted)
			}
		}
	}

	// Wrong parties are refused outright.
	for _, w := range []*keys.Keystore{ins, reg} {
		_, err = c.As(w).Declarations(ctx, false)
		refused(w.Name+" lists declarations", err, http.StatusForbidden, identity.CodeNotEntitled)
		_, err = c.As(w).PatientEmergency(ctx, pat.ID)
		refused(w.Name+" asks for the patient's emergency view", err, http.StatusForbidden, identity.CodeNotEntitled)
	}
	_, err = c.As(other).PatientEmergency(ctx, pat.ID)
	refused("another patient's emergency view", err, http.StatusForbidden, identity.CodeNotEntitled)
	if ds, err := c.As(other).Declarations(ctx, false); err != nil || len(ds) != 0 {
		t.Fatalf("a patient with no declarations lists %v, %v", ids(ds), err)
	}
	for _, w := range []*keys.Keystore{other, dr, c3, ins, reg} {
		_, err = c.As(w).Declaration(ctx, d2)
		refused(w.Name+" fetches a declaration it takes no part in", err, http.StatusForbidden, identity.CodeNotEntitled)
	}
	for _, w := range []*keys.Keystore{pat, aud, er} {
		full, err := c.As(w).Declaration(ctx, d2)
		if err != nil || full.Declaration.Reason != "unconscious after a road accident" || len(full.Escrows) != 1 {
			t.Fatalf("%s fetches declaration %s: %+v, %v", w.Name, d2, full, err)
		}
	}
	if full, err := c.As(c1).Declaration(ctx, d2); err != nil || full.Declaration.Reason != "" || full.Declaration.Patient != pat.ID || len(full.Escrows) != 1 {
		t.Fatalf("a custodian asked for a share fetches %s: %+v, %v", d2, full, err)
	}

	// The custodians act on what they are shown; the ER physician rebuilds the key under a
	// signed query and reads.
	for _, cu := range []*keys.Keystore{c1, c2} {
		if n, err := c.ReleaseShares(ctx, cu); err != nil || n != 2 {
			t.Fatalf("%s released %d shares (%v), want one per declaration", cu.Name, n, err)
		}
	}
	if n, err := c.ReleaseShares(ctx, c3); err != nil || n != 0 {
		t.Fatalf("a custodian holding no share released %d (%v)", n, err)
	}
	got, err := c.EmergencyRead(ctx, er, pat.ID, rec.RecordID)
	if err != nil || got.Outcome.Emergency != d2 || string(got.Plaintext) != `{"resourceType":"Observation","id":"bp"}` {
		t.Fatalf("the emergency read: %+v, %v", got, err)
	}

	// Ways past the signature.
	get := func(uri string, sign func(h http.Header)) (int, *tx.Error) { return signedGet(t, c.Base+uri, sign) }
	mine := "/v1/patients/" + other.ID + "/emergency"
	for _, w := range []struct {
		name string
		uri  string
		sign func(h http.Header)
	}{
		{"the patient's own view signed, another's asked", "/v1/patients/" + pat.ID + "/emergency", func(h http.Header) {
			identity.SignQuery(h, chainID, other.ID, other.Keys.Sign, "GET", mine, time.Now())
		}},
		{"the list signed, the open ones asked", "/v1/emergency/declarations?active=1", func(h http.Header) {
			identity.SignQuery(h, chainID, c1.ID, c1.Keys.Sign, "GET", "/v1/emergency/declarations", time.Now())
		}},
		{"a custodian's id with another key", "/v1/emergency/declarations", func(h http.Header) {
			identity.SignQuery(h, chainID, c1.ID, c3.Keys.Sign, "GET", "/v1/emergency/declarations", time.Now())
		}},
		{"the patient's id signed for another chain", "/v1/emergency/declarations/" + d1, func(h http.Header) {
			identity.SignQuery(h, "other-chain", pat.ID, pat.Keys.Sign, "GET", "/v1/emergency/declarations/"+d1, time.Now())
		}},
	} {
		status, e := get(w.uri, w.sign)
		if status != http.StatusUnauthorized || e.Code != identity.CodeBadQuery {
			t.Errorf("%s: HTTP %d %s/%d %s; want 401 identity/%d", w.name, status, e.Codespace, e.Code, e.Message, identity.CodeBadQuery)
		}
	}
}
