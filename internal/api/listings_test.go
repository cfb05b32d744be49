package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestListingsNeedAnEntitledSignedQuery: who a patient is, who registered them and who may
// read their records are care relationships. Anonymous listings are refused; a signed one
// answers only what the requester is entitled to; forged, stale and replayed-elsewhere
// signatures are refused; public keys stay available by id.
func TestListingsNeedAnEntitledSignedQuery(t *testing.T) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := r.Client
	cast := nodetest.RegisterCast(t, ctx, c, reg) // cast.Provider registered cast.Patient
	chainID, _ := c.ChainIDOf(ctx)
	newKS := func(name string) *keys.Keystore {
		ks, err := keys.NewKeystore(name)
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	dr2, other, ins := newKS("dr2"), newKS("other-patient"), newKS("insurer")
	for _, s := range []struct {
		signer *keys.Keystore
		body   *identity.Register
	}{
		{reg, client.RegistrationFor(chainID, dr2, identity.Provider, "Dr Two", "City Clinic", "MD-2")},
		{reg, client.RegistrationFor(chainID, ins, identity.Insurer, "Acme", "Acme Health", "")},
		{dr2, client.RegistrationFor(chainID, other, identity.Patient, "", "", "")},
	} {
		if _, err := c.Send(ctx, s.signer, s.body); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PublishCategories(ctx, other, []string{"general"}); err != nil {
		t.Fatal(err)
	}
	// other grants dr (cast.Provider) a read: dr now cares for other too.
	gid, err := c.Grant(ctx, other, consent.Grant{Grantee: cast.Provider.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Grant(ctx, other, consent.Grant{Grantee: dr2.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}}); err != nil {
		t.Fatal(err)
	}

	refused := func(what string, err error, status int, code uint32) {
		t.Helper()
		e, ok := err.(*client.Error)
		if !ok || e.Status != status || e.Codespace != string(identity.Space) || e.Code != code {
			t.Fatalf("%s: got %v, want HTTP %d identity/%d", what, err, status, code)
		}
	}
	_, err = c.Identities(ctx, "")
	refused("anonymous listing of identities", err, http.StatusUnauthorized, identity.CodeUnsigned)
	_, err = c.Grants(ctx, other.ID)
	refused("anonymous listing of grants", err, http.StatusUnauthorized, identity.CodeUnsigned)

	patientsSeenBy := func(ks *keys.Keystore) []string {
		t.Helper()
		ids, err := c.As(ks).Identities(ctx, string(identity.Patient))
		if err != nil {
			t.Fatalf("%s lists patients: %v", ks.Name, err)
		}
		var out []string
		for _, i := range ids {
			out = append(out, i.ID)
		}
		slices.Sort(out)
		return out
	}
	both := []string{cast.Patient.ID, other.ID}
	slices.Sort(both)
	for _, c := range []struct {
		who  *keys.Keystore
		want []string
	}{
		{reg, both},                               // the registrar
		{cast.Auditor, both},                      // an auditor
		{cast.Provider, both},                     // registered one, granted by the other
		{dr2, []string{other.ID}},                 // registered other
		{cast.Patient, []string{cast.Patient.ID}}, // a patient sees only themself
		{ins, nil},                                // no grants to the insurer
	} {
		if got := patientsSeenBy(c.who); !slices.Equal(got, c.want) {
			t.Errorf("%s sees patients %v, want %v", c.who.Name, got, c.want)
		}
	}

	grantIDs := func(ks *keys.Keystore) ([]string, error) {
		gs, err := c.As(ks).Grants(ctx, other.ID)
		var ids []string
		for _, g := range gs {
			ids = append(ids, g.ID)
		}
		return ids, err
	}
	if ids, err := grantIDs(other); err != nil || len(ids) != 2 {
		t.Fatalf("the patient sees grants %v, %v; want both", ids, err)
	}
	if ids, err := grantIDs(cast.Auditor); err != nil || len(ids) != 2 {
		t.Fatalf("the auditor sees grants %v, %v; want both", ids, err)
	}
	if ids, err := grantIDs(cast.Provider); err != nil || !slices.Equal(ids, []string{gid}) {
		t.Fatalf("a grantee sees grants %v, %v; want only its own %s", ids, err, gid)
	}
	if ids, err := grantIDs(ins); err != nil || len(ids) != 0 {
		t.Fatalf("a provider or insurer named in no grant sees %v, %v", ids, err)
	}
	_, err = grantIDs(cast.Patient)
	refused("another patient's grants", err, http.StatusForbidden, identity.CodeNotEntitled)
	_, err = grantIDs(reg)
	refused("the registrar asking for grants", err, http.StatusForbidden, identity.CodeNotEntitled)

	// One identity stays public by id, keys included, without its sponsor.
	pub, err := c.Identity(ctx, other.ID, false)
	if err != nil || len(pub.Identity.EncKey) == 0 || pub.Identity.RegisteredBy != "" {
		t.Fatalf("anonymous identity lookup: %+v, %v; want keys and no registered_by", pub, err)
	}
	_, err = c.Identity(ctx, other.ID, true)
	refused("an anonymous proof of a patient's registration", err, http.StatusUnauthorized, identity.CodeUnsigned)
	if full, err := c.As(dr2).Identity(ctx, other.ID, true); err != nil || full.Identity.RegisteredBy != dr2.ID || full.Proof == nil {
		t.Fatalf("the registering provider's signed lookup: %+v, %v", full, err)
	}

	// Ways past the signature.
	get := func(uri string, sign func(h http.Header)) (int, *tx.Error) { return signedGet(t, c.Base+uri, sign) }
	uri := "/v1/patients/" + other.ID + "/grants"
	for _, c := range []struct {
		name string
		uri  string
		sign func(h http.Header)
	}{
		{"signed with another key", uri, func(h http.Header) {
			identity.SignQuery(h, chainID, other.ID, ins.Keys.Sign, "GET", uri, time.Now())
		}},
		{"signed for another URI", uri, func(h http.Header) {
			identity.SignQuery(h, chainID, other.ID, other.Keys.Sign, "GET", "/v1/identities", time.Now())
		}},
		{"signed for another chain", uri, func(h http.Header) {
			identity.SignQuery(h, "other-chain", other.ID, other.Keys.Sign, "GET", uri, time.Now())
		}},
		{"signed an hour ago", uri, func(h http.Header) {
			identity.SignQuery(h, chainID, other.ID, other.Keys.Sign, "GET", uri, time.Now().Add(-time.Hour))
		}},
		{"an unregistered key", uri, func(h http.Header) {
			stranger := newKS("stranger")
			identity.SignQuery(h, chainID, stranger.ID, stranger.Keys.Sign, "GET", uri, time.Now())
		}},
	} {
		status, e := get(c.uri, c.sign)
		if status != http.StatusUnauthorized || e.Code != identity.CodeBadQuery {
			t.Errorf("%s: HTTP %d %s/%d %s; want 401 identity/%d", c.name, status, e.Codespace, e.Code, e.Message, identity.CodeBadQuery)
		}
	}
}

// signedGet sends a GET with the headers sign sets and returns the status and the coded
// error of the answer (empty on success).
func signedGet(t *testing.T, url string, sign func(h http.Header)) (int, *tx.Error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	sign(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e tx.Error
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, &e
}
