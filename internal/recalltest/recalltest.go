// Package recalltest builds, on a running node, the recall story the client, CLI and
// portal tests share: a manufacturer commissions packs of two lots and ships them to a
// pharmacy, which dispenses them to two patients and writes each dispense into the
// patient's chart; then the manufacturer recalls one lot. It is test support only.
package recalltest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
)

// Medication is the name the pharmacy writes into each dispense.
const Medication = "Amoxicillin 500 mg capsules"

// GTIN is Acme's product; lot L1 stays good, lot L2 is recalled.
const (
	GTIN        = "04012345123456"
	GoodLot     = "L1"
	RecalledLot = "L2"
)

// Story is who took part and which packs each patient took home.
type Story struct {
	Acme, Pharmacy, Pharmacist *keys.Keystore
	// Affected took home a pack of each lot, Clear one pack of the good lot only.
	Affected, Clear *keys.Keystore
	// Packs by patient id, in dispensing order.
	Packs map[string][]supply.Code
	// Records are the dispense records' ids by patient id.
	Records map[string][]string
}

// Options name the patients' keystores (the portal unlocks keystores by name); with
// DeferRecall the story stops before the recall, which the caller then captures (Recall).
type Options struct {
	AffectedName, ClearName string
	DeferRecall             bool
}

// Build runs the story on the node c talks to, whose API must capture EPCIS (the schema
// configured). reg is the registrar's keystore.
func Build(t testing.TB, ctx context.Context, c *client.Client, reg *keys.Keystore, o Options) *Story {
	t.Helper()
	if o.AffectedName == "" {
		o.AffectedName = "affected"
	}
	if o.ClearName == "" {
		o.ClearName = "clear"
	}
	chainID, err := c.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newKS := func(name string) *keys.Keystore {
		ks, err := keys.NewKeystore(name)
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	s := &Story{Acme: newKS("acme"), Pharmacy: newKS("corner-pharmacy"), Pharmacist: newKS("pharmacist"),
		Affected: newKS(o.AffectedName), Clear: newKS(o.ClearName),
		Packs: map[string][]supply.Code{}, Records: map[string][]string{}}
	// The pharmacy is a trading partner (it captures EPCIS events) and its pharmacist a
	// provider (who writes into charts): the ledger keeps the two roles apart.
	for _, r := range []struct {
		signer *keys.Keystore
		body   *identity.Register
	}{
		{reg, client.RegistrationFor(chainID, s.Acme, identity.Manufacturer, "Acme Pharma", "Acme Pharma", "")},
		{reg, client.RegistrationFor(chainID, s.Pharmacy, identity.Dispenser, "Corner Pharmacy", "Corner Pharmacy", "")},
		{reg, client.RegistrationFor(chainID, s.Pharmacist, identity.Provider, "Pharmacist Lee", "Corner Pharmacy", "RPH-1")},
		{s.Pharmacist, client.RegistrationFor(chainID, s.Affected, identity.Patient, "Ada Affected", "", "")},
		{s.Pharmacist, client.RegistrationFor(chainID, s.Clear, identity.Patient, "Cy Clear", "", "")},
	} {
		if _, err := c.Send(ctx, r.signer, r.body); err != nil {
			t.Fatalf("register a %s: %v", r.body.Role, err)
		}
	}
	for _, p := range []*keys.Keystore{s.Affected, s.Clear} {
		if _, err := c.PublishCategories(ctx, p, []string{"general"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []supply.BindBody{
		{Partner: s.Acme.ID, Prefixes: []string{"4012345"}, GLNs: []string{"4012345000009"}},
		{Partner: s.Pharmacy.ID, GLNs: []string{"0712345000002"}},
	} {
		if err := c.BindPartner(ctx, reg, b); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expiry := st.BlockTime.AddDate(1, 0, 0)
	sg := func(serial string) string { return "urn:epc:id:sgtin:4012345.012345." + serial }
	code := func(serial, lot string) supply.Code {
		return supply.Code{GTIN: GTIN, Serial: serial, Lot: lot, Expiry: expiry.Format("060102")}
	}
	capture := func(ks *keys.Keystore, events ...string) {
		t.Helper()
		if _, err := c.Capture(ctx, ks, Document(events...)); err != nil {
			t.Fatalf("capture by %s: %v", ks.Name, err)
		}
	}
	exp := expiry.Format(time.DateOnly)
	capture(s.Acme, commission(GoodLot, exp, sg("101"), sg("102")), commission(RecalledLot, exp, sg("201"), sg("202")))
	capture(s.Acme, ship("urn:epc:id:pgln:0712345.00000", sg("101"), sg("102"), sg("201")))
	capture(s.Pharmacy, observe("receiving", sg("101"), sg("102"), sg("201")))

	dispense := func(p *keys.Keystore, serial, lot string) {
		t.Helper()
		capture(s.Pharmacy, observe("dispensing", sg(serial)))
		cd := code(serial, lot)
		rec, err := client.DispenseRecord(client.Dispensed{Code: cd, Medication: Medication, Patient: p.ID,
			Pharmacy: "Corner Pharmacy", HandedOver: st.BlockTime})
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.PutRecord(ctx, s.Pharmacist, client.NewRecord{Patient: p.ID, Category: "general",
			ResourceType: client.DispenseResourceType, ContentType: "application/fhir+json", Plaintext: rec})
		if err != nil {
			t.Fatalf("write the dispense of %s: %v", serial, err)
		}
		s.Packs[p.ID] = append(s.Packs[p.ID], cd)
		s.Records[p.ID] = append(s.Records[p.ID], m.RecordID)
	}
	dispense(s.Affected, "101", GoodLot)
	dispense(s.Affected, "201", RecalledLot)
	dispense(s.Clear, "102", GoodLot)

	// A record of another kind in the affected patient's chart is left alone.
	if _, err := c.PutRecord(ctx, s.Pharmacist, client.NewRecord{Patient: s.Affected.ID, Category: "general",
		ResourceType: "Observation", ContentType: "application/fhir+json",
		Plaintext: []byte(`{"resourceType":"Observation","status":"final","code":{"text":"Blood pressure"}}`)}); err != nil {
		t.Fatal(err)
	}
	if !o.DeferRecall {
		Recall(t, ctx, c, s.Acme, RecalledLot)
	}
	return s
}

// Recall captures, as the manufacturer, the recall of one of its lots of GTIN.
func Recall(t testing.TB, ctx context.Context, c *client.Client, acme *keys.Keystore, lot string) {
	t.Helper()
	ev := `"type":"ObjectEvent","action":"OBSERVE","bizStep":"holding","disposition":"recalled","epcList":[],` +
		`"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.` + lot + `"}]`
	if _, err := c.Capture(ctx, acme, Document(ev)); err != nil {
		t.Fatalf("recall of lot %s: %v", lot, err)
	}
}

var minute int

// Document wraps events (JSON members without their time) into an EPCISDocument, each
// event a minute after the previous one.
func Document(events ...string) []byte {
	var list []string
	for _, e := range events {
		minute++
		list = append(list, fmt.Sprintf(`{%s,"eventTime":"2026-01-02T%02d:%02d:00Z","eventTimeZoneOffset":"+00:00"}`, e, 4+minute/60%20, minute%60))
	}
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
		`"schemaVersion":"2.0","creationDate":"2026-01-02T03:04:05Z","epcisBody":{"eventList":[` + strings.Join(list, ",") + `]}}`)
}

func quoted(ids []string) string { return `"` + strings.Join(ids, `","`) + `"` }

func commission(lot, expiry string, epcs ...string) string {
	return `"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","disposition":"active","epcList":[` + quoted(epcs) +
		`],"ilmd":{"cbvmda:lotNumber":"` + lot + `","cbvmda:itemExpirationDate":"` + expiry + `"}`
}

func ship(toParty string, epcs ...string) string {
	return `"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","epcList":[` + quoted(epcs) +
		`],"destinationList":[{"type":"owning_party","destination":"` + toParty + `"}]`
}

func observe(step string, epcs ...string) string {
	return `"type":"ObjectEvent","action":"OBSERVE","bizStep":"` + step + `","epcList":[` + quoted(epcs) + `]`
}
