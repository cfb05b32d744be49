package app

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
)

// The story's parties: Acme makes the drug, Big Wholesale distributes it, Corner Pharmacy
// dispenses it, the Drug Agency regulates. GLNs carry valid check digits.
const (
	acmeGLN     = "4012345000009"
	pharmacyGLN = "0712345000002"
	// Party GLNs as EPC URIs, as a shipment's destinationList names the new owner.
	wholesalerParty = "urn:epc:id:pgln:0614141.00000"
	pharmacyParty   = "urn:epc:id:pgln:0712345.00000"
)

type storyCast struct {
	supplyCast
	pharmacy *keys.Keystore
}

func (h *harness) registerStory() storyCast {
	c := storyCast{supplyCast: h.registerSupply(), pharmacy: newKS(h.t, "corner-pharmacy")}
	h.mustOK(h.sign(h.reg, registration(c.pharmacy, identity.Dispenser, "Corner Pharmacy", "")))
	h.mustOK(h.sign(h.reg, &supply.BindBody{Partner: c.pharmacy.ID, GLNs: []string{pharmacyGLN}}))
	return c
}

// sgtinOf is Acme's serialised item SERIAL of its GTIN 04012345123456, as an EPC URI.
func sgtinOf(serial string) string { return "urn:epc:id:sgtin:4012345.012345." + serial }

func ssccOf(n string) string { return "urn:epc:id:sscc:4012345." + n }

const lotL1 = "urn:epc:class:lgtin:4012345.012345.L1"

// epcisDoc wraps events (JSON objects without their time) in an EPCISDocument; each event
// gets its own minute so that no two story events hash the same.
var storyMinute int

func epcisDoc(events ...string) []byte {
	var list []string
	for _, e := range events {
		storyMinute++
		list = append(list, fmt.Sprintf(`{%s,"eventTime":"2026-01-02T%02d:%02d:00Z","eventTimeZoneOffset":"+00:00"}`, e, 4+storyMinute/60, storyMinute%60))
	}
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
		`"schemaVersion":"2.0","creationDate":"2026-01-02T03:04:05Z","epcisBody":{"eventList":[` + strings.Join(list, ",") + `]}}`)
}

func quoted(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = `"` + id + `"`
	}
	return strings.Join(q, ",")
}

func commissionEv(lot, expiry string, epcs ...string) string {
	return `"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","disposition":"active","epcList":[` + quoted(epcs) +
		`],"ilmd":{"lotNumber":"` + lot + `","itemExpirationDate":"` + expiry + `"}`
}

func packEv(parent string, children ...string) string {
	return `"type":"AggregationEvent","action":"ADD","bizStep":"packing","parentID":"` + parent + `","childEPCs":[` + quoted(children) + `]`
}

func unpackEv(parent string) string {
	return `"type":"AggregationEvent","action":"DELETE","bizStep":"unpacking","parentID":"` + parent + `","childEPCs":[]`
}

func shipEv(toParty string, epcs ...string) string {
	return `"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","disposition":"in_transit","epcList":[` + quoted(epcs) +
		`],"destinationList":[{"type":"owning_party","destination":"` + toParty + `"}]`
}

func observeEv(step string, epcs ...string) string {
	return `"type":"ObjectEvent","action":"OBSERVE","bizStep":"` + step + `","epcList":[` + quoted(epcs) + `]`
}

func recallLotEv(lot string) string {
	return `"type":"ObjectEvent","action":"OBSERVE","bizStep":"holding","disposition":"recalled","epcList":[],"quantityList":[{"epcClass":"` + lot + `"}]`
}

// step captures events as ks, which must be committed, and returns the suspect-product
// events they caused.
func (h *harness) step(ks *keys.Keystore, events ...string) []*supply.Suspect {
	h.t.Helper()
	raw, r := h.capture(ks, epcisDoc(events...))
	if r.Code != 0 {
		h.t.Fatalf("capture by %s refused: %s/%d %s", ks.Name, r.Codespace, r.Code, r.Log)
	}
	var out []*supply.Suspect
	for _, ev := range h.captured(raw).Events {
		for _, seq := range ev.Suspects {
			out = append(out, supply.GetSuspect(h.st.Committed(), seq))
		}
	}
	return out
}

// clean captures events that must break no rule.
func (h *harness) clean(ks *keys.Keystore, events ...string) {
	h.t.Helper()
	if s := h.step(ks, events...); len(s) != 0 {
		h.t.Fatalf("a lawful step by %s raised suspects: %+v", ks.Name, s[0])
	}
}

func (h *harness) item(id string) *supply.Item {
	h.t.Helper()
	it := supply.GetItem(h.st.Committed(), id)
	if it == nil {
		h.t.Fatalf("no custody record of %s", id)
	}
	return it
}

// wantSuspect checks that exactly one suspect event was raised, for reason, naming each of
// items and the given parties, and that each item is now quarantined.
func (h *harness) wantSuspect(what string, got []*supply.Suspect, reason string, items []string, parties ...string) *supply.Suspect {
	h.t.Helper()
	if len(got) != 1 {
		h.t.Fatalf("%s: %d suspect events %+v, want one %s", what, len(got), got, reason)
	}
	s := got[0]
	if s.Reason != reason {
		h.t.Fatalf("%s: suspect reason %s (%s), want %s", what, s.Reason, s.Detail, reason)
	}
	for _, id := range items {
		if !slices.Contains(s.Items, supply.CanonicalID(id)) {
			h.t.Fatalf("%s: the suspect event names %v, not %s", what, s.Items, id)
		}
		if it := h.item(id); !it.Quarantined || !slices.Contains(it.Suspects, s.Seq) {
			h.t.Fatalf("%s: %s is not quarantined under suspect %d: %+v", what, id, s.Seq, it)
		}
	}
	for _, p := range parties {
		if !slices.Contains(s.Parties, p) {
			h.t.Fatalf("%s: the suspect event's parties %v do not include %s", what, s.Parties, p)
		}
	}
	return s
}

// TestCounterfeitStory walks one drug from the factory to the patient, then tries the
// ways counterfeit or diverted product shows up in a supply chain: each is recorded as a
// suspect-product event with its reason, and the items it names are quarantined.
func TestCounterfeitStory(t *testing.T) {
	h := newHarness(t)
	c := h.registerStory()
	item1, item2, item3 := sgtinOf("1001"), sgtinOf("1002"), sgtinOf("1003")
	case1 := ssccOf("0000000001")

	// Acme commissions three packs of lot L1 and packs them into a case, then ships the
	// case to the wholesaler, who receives it, unpacks it and ships two packs on to the
	// pharmacy.
	h.clean(c.acme, commissionEv("L1", "2027-06-30", item1, item2, item3), packEv(case1, item1, item2, item3))
	if it := h.item(item1); it.Status != supply.StatusActive || it.Owner != c.acme.ID || it.Parent != supply.CanonicalID(case1) ||
		it.Lot != supply.CanonicalID(lotL1) || it.Expiry != "2027-06-30" {
		t.Fatalf("after commissioning and packing: %+v", it)
	}
	h.clean(c.acme, observeEv("storing", case1)) // the case's own event, while item 1 is inside
	h.clean(c.acme, shipEv(wholesalerParty, case1))
	if it := h.item(item2); it.Status != supply.StatusInTransit || it.ShippedTo != c.wholesaler.ID {
		t.Fatalf("shipping the case did not ship what is inside it: %+v", it)
	}
	h.clean(c.wholesaler, observeEv("receiving", case1), unpackEv(case1))
	if it := h.item(item2); it.Owner != c.wholesaler.ID || it.Status != supply.StatusActive || it.Parent != "" {
		t.Fatalf("after receipt and unpacking: %+v", it)
	}
	h.clean(c.wholesaler, observeEv("storing", case1)) // the empty case: not item 1's history
	h.clean(c.wholesaler, shipEv(pharmacyParty, item1, item2))
	h.clean(c.pharmacy, observeEv("receiving", item1, item2))

	// The pharmacy dispenses one pack to a patient. Its chain of custody is all three.
	h.clean(c.pharmacy, observeEv("dispensing", item1))
	it := h.item(item1)
	if it.Status != supply.StatusDispensed || it.Owner != c.pharmacy.ID || it.Quarantined {
		t.Fatalf("after dispensing: %+v", it)
	}
	for _, p := range []string{c.acme.ID, c.wholesaler.ID, c.pharmacy.ID} {
		if !it.InCustody(p) {
			t.Fatalf("%s is not in the chain of custody %v", p, it.Custody)
		}
	}
	if len(it.Events) != 8 {
		t.Fatalf("item 1 has %d events in its history, want 8 (commission, pack, ship, receive, unpack, ship, receive, dispense)", len(it.Events))
	}

	// Its trace is its own eight events and the case's storing while the item was in it,
	// in ledger order; not the case's events after the item was unpacked.
	tr := supply.Trace(h.st.Committed(), supply.CanonicalID(item1))
	if len(tr.Steps) != 9 || tr.Truncated || tr.Items[0].ID != supply.CanonicalID(item1) || tr.Items[1].ID != supply.CanonicalID(case1) {
		t.Fatalf("trace of item 1: %d steps, items %d", len(tr.Steps), len(tr.Items))
	}
	for i, st := range tr.Steps {
		if i > 0 && st.Event.Seq <= tr.Steps[i-1].Event.Seq {
			t.Fatalf("trace step %d is out of ledger order", i)
		}
		wantVia := supply.CanonicalID(item1)
		if i == 2 {
			wantVia = supply.CanonicalID(case1)
		}
		if st.Via != wantVia {
			t.Fatalf("trace step %d (%s) came via %s, want %s", i, st.Event.HashID, st.Via, wantVia)
		}
	}
	for _, who := range []*keys.Keystore{c.acme, c.wholesaler, c.pharmacy, c.regulator} {
		if !supply.MayTrace(h.identity(who.ID), tr.Items[0]) {
			t.Fatalf("%s may not trace item 1", who.Name)
		}
	}
	if supply.MayTrace(h.identity(c.globex.ID), tr.Items[0]) {
		t.Fatal("a partner outside the chain of custody may trace item 1")
	}

	// 1. Receipt of goods never shipped: the pharmacy receives item 3, which the
	// wholesaler still holds (a pack that arrived by another route).
	s := h.wantSuspect("unshipped receipt", h.step(c.pharmacy, observeEv("receiving", item3)),
		supply.ReasonUnshippedReceipt, []string{item3}, c.pharmacy.ID, c.wholesaler.ID)
	if it := h.item(item3); it.Owner != c.wholesaler.ID {
		t.Fatalf("a suspect receipt moved ownership: %+v", it)
	}
	if !strings.Contains(s.Detail, "not shipped") {
		t.Fatalf("detail %q", s.Detail)
	}

	// 2. A second dispense of one item: the same serial sold twice (a copied pack).
	h.wantSuspect("second dispense", h.step(c.pharmacy, observeEv("dispensing", item1)),
		supply.ReasonDispensedTwice, []string{item1}, c.pharmacy.ID)

	// 3. Movement of a recalled lot: Acme commissions lot L2, recalls it, and then tries to
	// ship a pack of it; and the wholesaler's pack of L1 moves freely until L1 is recalled.
	item4 := sgtinOf("2001")
	lotL2 := "urn:epc:class:lgtin:4012345.012345.L2"
	h.clean(c.acme, commissionEv("L2", "2027-09-30", item4))
	h.clean(c.acme, recallLotEv(lotL2))
	if lot := h.item(lotL2); lot.Status != supply.StatusRecalled {
		t.Fatalf("the recall did not mark the lot: %+v", lot)
	}
	h.wantSuspect("recalled lot shipped", h.step(c.acme, shipEv(wholesalerParty, item4)),
		supply.ReasonRecalledMoved, []string{item4}, c.acme.ID)
	if it := h.item(item4); it.Status != supply.StatusActive {
		t.Fatalf("a recalled pack was shipped anyway: %+v", it)
	}

	// 4. A pallet whose children were re-aggregated elsewhere: Acme packs two cases onto
	// pallet A; later the second case is packed onto pallet B without being taken off A
	// (one physical case cannot be on two pallets: one of them is a forgery).
	case2, case3 := ssccOf("0000000002"), ssccOf("0000000003")
	palletA, palletB := ssccOf("0000000010"), ssccOf("0000000011")
	item5, item6 := sgtinOf("3001"), sgtinOf("3002")
	h.clean(c.acme, commissionEv("L3", "2028-01-31", item5, item6), packEv(case2, item5), packEv(case3, item6), packEv(palletA, case2, case3))
	h.wantSuspect("case re-aggregated onto another pallet", h.step(c.acme, packEv(palletB, case3)),
		supply.ReasonAlreadyAggregated, []string{case3}, c.acme.ID)
	if it := h.item(case3); it.Parent != supply.CanonicalID(palletA) {
		t.Fatalf("the suspect aggregation moved the case: %+v", it)
	}
	if pb := h.item(palletB); slices.Contains(pb.Children, supply.CanonicalID(case3)) {
		t.Fatalf("pallet B claims the case: %+v", pb)
	}
	// Shipping pallet A now stops at the quarantined case; the lawful case still ships.
	h.wantSuspect("shipping a pallet with a quarantined case", h.step(c.acme, shipEv(wholesalerParty, palletA)),
		supply.ReasonQuarantinedMoved, []string{case3}, c.acme.ID)
	if it := h.item(item5); it.Status != supply.StatusInTransit {
		t.Fatalf("the lawful case's item did not ship: %+v", it)
	}
	if it := h.item(item6); it.Status != supply.StatusActive || it.Owner != c.acme.ID {
		t.Fatalf("the item inside the quarantined case shipped without it: %+v", it)
	}
	// The trace of an item two levels down reaches its case's events while it was in the
	// case (the case packed onto the pallet) and the pallet's while the case was on it
	// (stored); the pallet's shipment moved the item itself.
	h.clean(c.acme, observeEv("storing", palletA))
	tr = supply.Trace(h.st.Committed(), supply.CanonicalID(item5))
	var vias []string
	for _, st := range tr.Steps {
		vias = append(vias, st.Via)
	}
	wantVias := []string{supply.CanonicalID(item5), supply.CanonicalID(item5), supply.CanonicalID(case2), supply.CanonicalID(item5), supply.CanonicalID(palletA)}
	if !slices.Equal(vias, wantVias) || len(tr.Items) != 3 {
		t.Fatalf("trace of item 5 came via %v (%d records), want %v", vias, len(tr.Items), wantVias)
	}

	// A pharmacist or patient scanning any pack a suspect event named is told "suspect";
	// pack 2 at the pharmacy and pack 5 on its way to the wholesaler are "genuine".
	now := genesisTime.Add(time.Duration(h.height) * time.Second)
	for serial, want := range map[string]string{"1003": supply.AnswerSuspect, "1001": supply.AnswerSuspect, "2001": supply.AnswerSuspect, "1002": supply.AnswerGenuine, "3001": supply.AnswerGenuine} {
		code, err := supply.ParseCode("(01)04012345123456(21)" + serial)
		if err != nil {
			t.Fatal(err)
		}
		item := supply.GetPublic(h.st.Committed(), code.ItemID())
		var lot *supply.Public
		if item != nil && item.Lot != "" {
			lot = supply.GetPublic(h.st.Committed(), item.Lot)
		}
		if got := supply.Judge(code, item, lot, now); got.Answer != want {
			t.Fatalf("pack %s verifies as %+v, want %s", serial, got, want)
		}
	}

	// Every suspect event is on the ledger in order, and replaying every block into a
	// fresh state gives the same app hashes.
	if n := supply.SuspectCount(h.st.Committed()); n != 5 {
		t.Fatalf("%d suspect events on the ledger, want 5", n)
	}
	replayHashes(t, h)
}
