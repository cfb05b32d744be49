package fhir

import (
	"context"
	"testing"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// testReaderIndex: a grant to an organization opens the patient to a provider of it whom
// no grant names (the reader index follows organization grants), not to a provider of
// another; with the index broken, every patient is looked at and the answers are the same.
// (The importing provider reads by authorship alone, and the other provider by a grant
// naming it: the other subtests cover those.)
func (f *fixture) testReaderIndex(t *testing.T) {
	f = f.sub(t)
	ctx := context.Background()
	angelic := f.source(f.files[2])
	chainID, _ := f.r.Client.ChainIDOf(ctx)
	provider := func(name, org string) string {
		t.Helper()
		ks, err := keys.NewKeystore(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.r.Client.Send(ctx, f.reg, client.RegistrationFor(chainID, ks, identity.Provider, name, org, "MD-"+name)); err != nil {
			t.Fatal(err)
		}
		f.gw.Unlock(ks)
		return f.token(ks)
	}
	member, outsider := provider("dr-member", "Riverside Group"), provider("dr-outsider", "Hillside")
	found := func(tok string) (patients []string, history, immunizations int) {
		t.Helper()
		code, b := f.do(tok, "GET", "/Patient?family=Howe", nil)
		code2, h := f.do(tok, "GET", "/Immunization/_history?_count=0", nil)
		code3, s := f.do(tok, "GET", "/Immunization?patient="+angelic.patient+"&_summary=count", nil)
		if code != 200 || code2 != 200 {
			t.Fatalf("patient search %d, history %d", code, code2)
		}
		if code3 == 200 {
			immunizations = total(s)
		}
		return ids(t, b), total(h), immunizations
	}
	if ps, h, _ := found(member); len(ps) != 0 || h != 0 {
		t.Fatalf("before any grant, the member finds %v and %d versions", ps, h)
	}
	data, err := f.im.Keys.Load(PatientKeystoreName(sourceOf(angelic).SourceID))
	if err != nil {
		t.Fatal(err)
	}
	pks, err := keys.Decrypt(data, f.im.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.Client.Grant(ctx, pks, consent.Grant{Organization: "Riverside Group", Scope: consent.Scope{Categories: []string{CatGeneral}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}}); err != nil {
		t.Fatal(err)
	}
	ps, h, n := found(member)
	if len(ps) != 1 || ps[0] != angelic.patient || n == 0 || h < n {
		t.Fatalf("after the organization grant, the member finds %v, %d Immunization versions, %d Immunizations", ps, h, n)
	}
	if ps, h, _ := found(outsider); len(ps) != 0 || h != 0 {
		t.Fatalf("a provider of another organization finds %v and %d versions", ps, h)
	}
	f.gw.readers.mu.Lock()
	f.gw.readers.broken, f.gw.readers.by = true, nil
	f.gw.readers.mu.Unlock()
	defer func() {
		f.gw.readers.mu.Lock()
		f.gw.readers.broken, f.gw.readers.next = false, 0
		f.gw.readers.mu.Unlock()
	}()
	if ps2, h2, n2 := found(member); len(ps2) != 1 || ps2[0] != ps[0] || h2 != h || n2 != n {
		t.Fatalf("without the index: %v %d %d, with it %v %d %d", ps2, h2, n2, ps, h, n)
	}
	if ps, h, _ := found(outsider); len(ps) != 0 || h != 0 {
		t.Fatalf("without the index, a provider of another organization finds %v and %d versions", ps, h)
	}
}
