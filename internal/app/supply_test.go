package app

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// The standard's examples and schema (see ../shared/data/epcis-2.0/README.md).
const epcisExamples = "../../../shared/data/epcis-2.0/examples"

// supplyCast is a supply chain: two manufacturers with their own company prefixes, a
// wholesaler, a regulator, and a manufacturer the registrar has not bound yet.
type supplyCast struct {
	acme, globex, wholesaler, regulator, unbound *keys.Keystore
}

// The examples commission GTINs under 4012345; Globex owns the examples' other prefix.
const (
	acmePrefix   = "4012345"
	globexPrefix = "0614141"
)

func (h *harness) registerSupply() supplyCast {
	c := supplyCast{acme: newKS(h.t, "acme-pharma"), globex: newKS(h.t, "globex"), wholesaler: newKS(h.t, "mckesson"),
		regulator: newKS(h.t, "fda"), unbound: newKS(h.t, "newco")}
	h.mustOK(
		h.sign(h.reg, registration(c.acme, identity.Manufacturer, "Acme Pharma", "")),
		h.sign(h.reg, registration(c.globex, identity.Manufacturer, "Globex Generics", "")),
		h.sign(h.reg, registration(c.wholesaler, identity.Wholesaler, "Big Wholesale", "")),
		h.sign(h.reg, registration(c.regulator, identity.Regulator, "Drug Agency", "")),
		h.sign(h.reg, registration(c.unbound, identity.Manufacturer, "New Co", "")),
	)
	h.mustOK(
		h.sign(h.reg, &supply.BindBody{Partner: c.acme.ID, Prefixes: []string{acmePrefix}, GLNs: []string{"4012345000009"}}),
		h.sign(h.reg, &supply.BindBody{Partner: c.globex.ID, Prefixes: []string{globexPrefix}}),
		h.sign(h.reg, &supply.BindBody{Partner: c.wholesaler.ID, GLNs: []string{"0614141000005"}}),
	)
	return c
}

// try commits one transaction by ks and returns its result; a refused transaction does
// not use up the signer's sequence.
func (h *harness) try(ks *keys.Keystore, body tx.Body) ([]byte, *abci.ExecTxResult) {
	h.t.Helper()
	raw := h.sign(ks, body)
	r := h.block(raw)[0]
	if r.Code != 0 {
		h.seqs[ks.ID]--
	}
	return raw, r
}

func (h *harness) one(ks *keys.Keystore, body tx.Body) *abci.ExecTxResult {
	_, r := h.try(ks, body)
	return r
}

func wantCode(t *testing.T, what string, r *abci.ExecTxResult, space tx.Codespace, code uint32) {
	t.Helper()
	if r.Codespace != string(space) || r.Code != code {
		t.Fatalf("%s: got %s/%d %q, want %s/%d", what, r.Codespace, r.Code, r.Log, space, code)
	}
}

func (h *harness) capture(ks *keys.Keystore, doc []byte) ([]byte, *abci.ExecTxResult) {
	return h.try(ks, &supply.CaptureBody{Document: doc})
}

// captured is what the committed capture transaction raw did.
func (h *harness) captured(raw []byte) *supply.Capture {
	h.t.Helper()
	sum := tx.Hash(raw)
	c := supply.GetCapture(h.st.Committed(), (hexString(sum[:])))
	if c == nil {
		h.t.Fatal("no capture record for a committed capture")
	}
	return c
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

func TestTradingPartnersRegisterAndBind(t *testing.T) {
	h := newHarness(t)
	c := h.registerSupply()
	if id := h.identity(c.regulator.ID); id == nil || id.Role != identity.Regulator {
		t.Fatalf("regulator registered as %+v", id)
	}
	if p := supply.GetPartner(h.st.Committed(), c.acme.ID); p == nil || len(p.Prefixes) != 1 || p.Prefixes[0] != acmePrefix || p.GLNs[0] != "4012345000009" {
		t.Fatalf("acme's binding: %+v", p)
	}
	// A trading partner carries its organization, like a provider.
	wantCode(t, "manufacturer without organization", h.one(h.reg, registration(newKS(t, "x"), identity.Manufacturer, "", "")), identity.Space, identity.CodeInvalid)

	prov := newKS(t, "dr")
	h.mustOK(h.sign(h.reg, registration(prov, identity.Provider, "St Mary", "MD-1")))
	for _, b := range []struct {
		name string
		by   *keys.Keystore
		body *supply.BindBody
		code uint32
	}{
		{"a manufacturer binds itself", c.unbound, &supply.BindBody{Partner: c.unbound.ID, Prefixes: []string{"7000001"}}, supply.CodeUnauthorized},
		{"the same prefix again", h.reg, &supply.BindBody{Partner: c.unbound.ID, Prefixes: []string{acmePrefix}}, supply.CodePrefixTaken},
		{"a shorter prefix covering acme's", h.reg, &supply.BindBody{Partner: c.unbound.ID, Prefixes: []string{"40123"}}, supply.CodePrefixTaken},
		{"a longer prefix under acme's", h.reg, &supply.BindBody{Partner: c.unbound.ID, Prefixes: []string{"40123459"}}, supply.CodePrefixTaken},
		{"acme's GLN", h.reg, &supply.BindBody{Partner: c.unbound.ID, GLNs: []string{"4012345000009"}}, supply.CodeGLNTaken},
		{"a GLN with a wrong check digit", h.reg, &supply.BindBody{Partner: c.unbound.ID, GLNs: []string{"4012345000008"}}, supply.CodeInvalid},
		{"a prefix of letters", h.reg, &supply.BindBody{Partner: c.unbound.ID, Prefixes: []string{"40A2345"}}, supply.CodeInvalid},
		{"a provider", h.reg, &supply.BindBody{Partner: prov.ID, Prefixes: []string{"7000001"}}, supply.CodeNotPartner},
		{"the regulator", h.reg, &supply.BindBody{Partner: c.regulator.ID, Prefixes: []string{"7000001"}}, supply.CodeNotPartner},
		{"nobody", h.reg, &supply.BindBody{Partner: strings.Repeat("ab", 16), Prefixes: []string{"7000001"}}, supply.CodeNotFound},
		{"an empty binding", h.reg, &supply.BindBody{Partner: c.unbound.ID}, supply.CodeInvalid},
	} {
		wantCode(t, b.name, h.one(b.by, b.body), supply.Space, b.code)
	}
	if supply.GetPartner(h.st.Committed(), c.unbound.ID) != nil {
		t.Fatal("a refused binding left a partner record")
	}
	replayHashes(t, h)
}

func TestCaptureTheStandardExamples(t *testing.T) {
	h := newHarness(t)
	c := h.registerSupply()
	files, err := filepath.Glob(filepath.Join(epcisExamples, "*.jsonld"))
	if err != nil || len(files) < 20 {
		t.Fatalf("examples: %v, %d files", err, len(files))
	}
	sort.Strings(files)
	stored := map[string]bool{}
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := epcis.HashDocument(doc)
		if err != nil {
			t.Fatal(err)
		}
		raw, r := h.capture(c.acme, doc)
		if r.Code != 0 {
			t.Fatalf("%s: capture refused: %s/%d %s", filepath.Base(f), r.Codespace, r.Code, r.Log)
		}
		got := h.captured(raw)
		for i, ev := range want {
			if got.Events[i].HashID != ev.HashID || got.Events[i].New == stored[ev.HashID] {
				t.Fatalf("%s event %d: captured %+v, want %s new=%v", filepath.Base(f), i, got.Events[i], ev.HashID, !stored[ev.HashID])
			}
			stored[ev.HashID] = true
			se := supply.GetEvent(h.st.Committed(), supply.Digest(ev.HashID))
			if se == nil || se.HashID != ev.HashID || se.CapturedBy != c.acme.ID || se.Type != ev.Type {
				t.Fatalf("%s event %d: stored %+v", filepath.Base(f), i, se)
			}
		}
	}
	replayHashes(t, h)
}

const commissionDoc = `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
 "type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-02T03:04:05Z",
 "epcisBody":{"eventList":[{"type":"ObjectEvent","action":"ADD","bizStep":"commissioning",
  "disposition":"active","epcList":["urn:epc:id:sgtin:PREFIX.012345.SERIAL"],
  "eventTime":"2026-01-02T03:04:05Z","eventTimeZoneOffset":"+00:00",
  "bizLocation":{"id":"urn:epc:id:sgln:4012345.00000.0"}}]}}`

func commission(prefix, serial string) []byte {
	return []byte(strings.NewReplacer("PREFIX", prefix, "SERIAL", serial).Replace(commissionDoc))
}

func TestCaptureOnceAndClonedGTINsSuspect(t *testing.T) {
	h := newHarness(t)
	c := h.registerSupply()

	// Acme commissions an item under its own prefix.
	first, r := h.capture(c.acme, commission(acmePrefix, "1001"))
	if r.Code != 0 {
		t.Fatalf("commissioning under the own prefix refused: %s", r.Log)
	}
	ev := h.captured(first).Events[0]
	if !ev.New {
		t.Fatal("a first capture's event is not new")
	}

	// The same event again (another serialisation of it: Digital Link instead of the EPC
	// URN) is one event: the second capture answers that nothing was new.
	dl := strings.Replace(string(commission(acmePrefix, "1001")), "urn:epc:id:sgtin:4012345.012345.1001", "https://id.gs1.org/01/04012345123456/21/1001", 1)
	again, r := h.capture(c.acme, []byte(dl))
	if r.Code != 0 {
		t.Fatalf("re-capture refused: %s", r.Log)
	}
	if got := h.captured(again).Events[0]; got.New || got.HashID != ev.HashID {
		t.Fatalf("re-capture: %+v, want %s not new", got, ev.HashID)
	}
	if se := supply.GetEvent(h.st.Committed(), supply.Digest(ev.HashID)); se.Tx != (hexString(ptr(tx.Hash(first))[:])) {
		t.Fatalf("the stored event was overwritten by the duplicate: %+v", se)
	}

	// A changed field (another serial) is a new event.
	changed, r := h.capture(c.acme, commission(acmePrefix, "1002"))
	if got := h.captured(changed).Events[0]; r.Code != 0 || !got.New || got.HashID == ev.HashID {
		t.Fatalf("changed event: %+v (%s)", got, r.Log)
	}

	// Counterfeit: Globex commissions an SGTIN under Acme's prefix (a cloned GTIN), in
	// each form the standard allows. The capture stands; each is a not_owner suspect event
	// and the pack is quarantined.
	var clones [][]byte
	for i, doc := range []string{
		string(commission(acmePrefix, "666")),
		strings.Replace(string(commission(acmePrefix, "667")), "urn:epc:id:sgtin:4012345.012345.667", "https://id.gs1.org/01/04012345123456/21/667", 1),
		strings.Replace(string(commission(acmePrefix, "668")), `"action":"ADD","bizStep":"commissioning"`, `"action":"ADD","bizStep":"https://ref.gs1.org/cbv/BizStep-commissioning"`, 1),
		// Members spelt in another case are extensions, not the fields: they do not hide
		// the real epcList or type from the check.
		strings.Replace(string(commission(acmePrefix, "669")), `"eventTime":`, `"EPCLIST":["urn:epc:id:sgtin:0614141.012345.1"],"TYPE":"AggregationEvent","eventTime":`, 1),
	} {
		raw, r := h.capture(c.globex, []byte(doc))
		if r.Code != 0 {
			t.Fatalf("cloned GTIN form %d refused: %s", i, r.Log)
		}
		clones = append(clones, raw)
		ev := h.captured(raw).Events[0]
		s := supply.GetSuspect(h.st.Committed(), ev.Suspects[0])
		id := supply.CanonicalID("urn:epc:id:sgtin:4012345.012345." + []string{"666", "667", "668", "669"}[i])
		if len(ev.Suspects) != 1 || s.Reason != supply.ReasonNotOwner || len(s.Items) != 1 || s.Items[0] != id {
			t.Fatalf("cloned GTIN form %d: suspects %v, %+v", i, ev.Suspects, s)
		}
		if it := supply.GetItem(h.st.Committed(), id); it == nil || !it.Quarantined || it.Status != supply.StatusUnknown {
			t.Fatalf("cloned GTIN form %d: %+v", i, it)
		}
	}
	// A transformation's commissioned outputs count too: the standard's example makes
	// Acme's GTINs, so Globex's capture of it names them not_owner.
	tr, err := os.ReadFile(filepath.Join(epcisExamples, "Example_9.6.4-TransformationEvent.jsonld"))
	if err != nil {
		t.Fatal(err)
	}
	raw, r := h.capture(c.globex, tr)
	if r.Code != 0 {
		t.Fatalf("the transformation by Globex refused: %s", r.Log)
	}
	clones = append(clones, raw)
	var reasons []string
	for _, seq := range h.captured(raw).Events[0].Suspects {
		reasons = append(reasons, supply.GetSuspect(h.st.Committed(), seq).Reason)
	}
	if !slices.Contains(reasons, supply.ReasonNotOwner) {
		t.Fatalf("a transformation into another company's GTINs raised %v", reasons)
	}

	// Observing Acme's items is not commissioning: the wholesaler may.
	obs := strings.Replace(string(commission(acmePrefix, "1001")), `"action":"ADD","bizStep":"commissioning"`, `"action":"OBSERVE","bizStep":"receiving"`, 1)
	if _, r = h.capture(c.wholesaler, []byte(obs)); r.Code != 0 {
		t.Fatalf("wholesaler's receiving refused: %s", r.Log)
	}

	// One audit event per committed capture, saying how many of its events were new; the
	// refused captures below leave none.
	var audited []string
	v := h.st.Committed()
	for i := uint64(0); i < v.LogSize(); i++ {
		leaf, _ := v.Leaf(i)
		if ev, _ := audit.Decode(leaf); ev != nil && ev.Action == audit.EPCISCapture {
			if ev.Actor == c.acme.ID && ev.Tx == hexString(ptr(tx.Hash(again))[:]) && ev.Reason != "1 events, 0 new" {
				t.Errorf("the duplicate capture's audit event says %q", ev.Reason)
			}
			audited = append(audited, ev.Tx)
		}
	}
	want := []string{hexString(ptr(tx.Hash(first))[:]), hexString(ptr(tx.Hash(again))[:]), hexString(ptr(tx.Hash(changed))[:])}
	for _, raw := range clones {
		want = append(want, hexString(ptr(tx.Hash(raw))[:]))
	}
	if len(audited) != len(want)+1 || strings.Join(audited[:len(want)], ",") != strings.Join(want, ",") {
		t.Fatalf("capture audit events for txs %v, want %v and the wholesaler's", audited, want)
	}

	// Who may capture at all.
	_, r = h.capture(c.unbound, commission("7000001", "1"))
	wantCode(t, "unbound manufacturer", r, supply.Space, supply.CodeNotBound)
	_, r = h.capture(c.regulator, []byte(obs))
	wantCode(t, "regulator", r, supply.Space, supply.CodeUnauthorized)
	// Malformed documents are refused with their reason.
	for name, doc := range map[string]string{
		"not JSON":    "{",
		"no events":   `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","epcisBody":{"eventList":[]}}`,
		"no @context": strings.Replace(obs, `"@context"`, `"context"`, 1),
		"local time":  strings.Replace(obs, `"eventTime":"2026-01-02T03:04:05Z"`, `"eventTime":"2026-01-02T03:04:05"`, 1),
	} {
		_, r = h.capture(c.acme, []byte(doc))
		wantCode(t, name, r, supply.Space, supply.CodeInvalid)
	}
	replayHashes(t, h)
}

func ptr[T any](v T) *T { return &v }
