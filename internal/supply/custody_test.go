package supply

import (
	"testing"
)

// mapLedger is a ledger of a few items and GLNs, for table tests of the pure decision.
type mapLedger struct {
	items map[string]*Item
	glns  map[string]string
}

func (m mapLedger) Item(id string) *Item        { return m.items[id] }
func (m mapLedger) PartnerAt(gln string) string { return m.glns[gln] }

const (
	sgtin  = "urn:epc:id:sgtin:4012345.012345.1001"
	sgtin2 = "urn:epc:id:sgtin:4012345.012345.1002"
	sscc   = "urn:epc:id:sscc:4012345.0000000001"
	lgtin  = "urn:epc:class:lgtin:4012345.012345.L1"
)

func item(id, owner, status string, mod ...func(*Item)) *Item {
	it := &Item{ID: CanonicalID(id), Owner: owner, Status: status, Custody: []string{owner}}
	for _, m := range mod {
		m(it)
	}
	return it
}

func TestDecideCustodyRules(t *testing.T) {
	toWholesaler := [][2]string{{"owning_party", "urn:epc:id:pgln:0614141.00000"}}
	for _, c := range []struct {
		name    string
		have    []*Item
		by      string
		f       facts
		reason  string // "" = no violation
		check   string // item whose state is checked
		status  string
		owner   string
		shipped string
		quarant bool
	}{
		{name: "commission", by: "acme", f: facts{Type: "ObjectEvent", Action: "ADD", BizStep: "commissioning", EPCList: []string{sgtin}},
			check: sgtin, status: StatusActive, owner: "acme"},
		{name: "commission twice", have: []*Item{item(sgtin, "acme", StatusActive)}, by: "acme",
			f:      facts{Type: "ObjectEvent", Action: "ADD", BizStep: "urn:epcglobal:cbv:bizstep:commissioning", EPCList: []string{"https://id.gs1.org/01/04012345123456/21/1001"}},
			reason: ReasonDuplicateSerial, check: sgtin, status: StatusActive, owner: "acme", quarant: true},
		{name: "commission a foreign GTIN", by: "globex", f: facts{Type: "ObjectEvent", Action: "ADD", BizStep: "commissioning", EPCList: []string{sgtin}},
			reason: ReasonNotOwner, check: sgtin, status: StatusUnknown, owner: "globex", quarant: true},
		{name: "commission anew what a declaration voided", have: []*Item{item(sgtin, "", StatusVoid)}, by: "acme",
			f:     facts{Type: "ObjectEvent", Action: "ADD", BizStep: "commissioning", EPCList: []string{sgtin}},
			check: sgtin, status: StatusActive, owner: "acme"},
		{name: "the owner commissions a serial seen before", have: []*Item{item(sgtin, "globex", StatusUnknown)}, by: "acme",
			f:      facts{Type: "ObjectEvent", Action: "ADD", BizStep: "commissioning", EPCList: []string{sgtin}},
			reason: ReasonDuplicateSerial, check: sgtin, status: StatusActive, owner: "acme", quarant: true},
		{name: "a clone of a serial seen before", have: []*Item{item(sgtin, "wholesaler", StatusUnknown)}, by: "globex",
			f:      facts{Type: "ObjectEvent", Action: "ADD", BizStep: "commissioning", EPCList: []string{sgtin}},
			reason: ReasonDuplicateSerial, check: sgtin, status: StatusUnknown, owner: "wholesaler", quarant: true},
		{name: "a clone of a voided serial", have: []*Item{item(sgtin, "", StatusVoid)}, by: "globex",
			f:      facts{Type: "ObjectEvent", Action: "ADD", BizStep: "commissioning", EPCList: []string{sgtin}},
			reason: ReasonNotOwner, check: sgtin, status: StatusVoid, quarant: true},
		{name: "ship a voided item", have: []*Item{item(sgtin, "", StatusVoid)}, by: "acme",
			f:      facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", EPCList: []string{sgtin}},
			reason: ReasonUnknownItem, check: sgtin, status: StatusVoid, quarant: true},
		{name: "ship to the wholesaler's party GLN", have: []*Item{item(sgtin, "acme", StatusActive)}, by: "acme",
			f:     facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", EPCList: []string{sgtin}, Destinations: toWholesaler},
			check: sgtin, status: StatusInTransit, owner: "acme", shipped: "wholesaler"},
		{name: "ship what another owns", have: []*Item{item(sgtin, "acme", StatusActive)}, by: "wholesaler",
			f:      facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", EPCList: []string{sgtin}},
			reason: ReasonNotOwner, check: sgtin, status: StatusActive, owner: "acme", quarant: true},
		{name: "ship the unknown", by: "acme", f: facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", EPCList: []string{sgtin}},
			reason: ReasonUnknownItem, check: sgtin, status: StatusUnknown, quarant: true},
		{name: "receive what was shipped to me", have: []*Item{item(sgtin, "acme", StatusInTransit, func(i *Item) { i.ShippedTo = "wholesaler" })}, by: "wholesaler",
			f:     facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "receiving", EPCList: []string{sgtin}},
			check: sgtin, status: StatusActive, owner: "wholesaler"},
		{name: "receive what was shipped to another", have: []*Item{item(sgtin, "acme", StatusInTransit, func(i *Item) { i.ShippedTo = "wholesaler" })}, by: "pharmacy",
			f:      facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "receiving", EPCList: []string{sgtin}},
			reason: ReasonNotReceiver, check: sgtin, status: StatusInTransit, owner: "acme", shipped: "wholesaler", quarant: true},
		{name: "receive what was never shipped", have: []*Item{item(sgtin, "acme", StatusActive)}, by: "wholesaler",
			f:      facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "receiving", EPCList: []string{sgtin}},
			reason: ReasonUnshippedReceipt, check: sgtin, status: StatusActive, owner: "acme", quarant: true},
		{name: "receive the never commissioned", by: "wholesaler", f: facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "receiving", EPCList: []string{sgtin}},
			reason: ReasonUnshippedReceipt, check: sgtin, status: StatusUnknown, quarant: true},
		{name: "dispense", have: []*Item{item(sgtin, "pharmacy", StatusActive)}, by: "pharmacy",
			f:     facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "https://ref.gs1.org/cbv/BizStep-dispensing", EPCList: []string{sgtin}},
			check: sgtin, status: StatusDispensed, owner: "pharmacy"},
		{name: "dispense twice", have: []*Item{item(sgtin, "pharmacy", StatusDispensed)}, by: "pharmacy",
			f:      facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "dispensing", EPCList: []string{sgtin}},
			reason: ReasonDispensedTwice, check: sgtin, status: StatusDispensed, owner: "pharmacy", quarant: true},
		{name: "ship a destroyed item", have: []*Item{item(sgtin, "acme", StatusDestroyed)}, by: "acme",
			f:      facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", EPCList: []string{sgtin}},
			reason: ReasonRetiredMoved, check: sgtin, status: StatusDestroyed, owner: "acme", quarant: true},
		{name: "ship an item of a recalled lot", have: []*Item{item(sgtin, "acme", StatusActive, func(i *Item) { i.Lot = CanonicalID(lgtin) }), item(lgtin, "acme", StatusRecalled)}, by: "acme",
			f:      facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", EPCList: []string{sgtin}},
			reason: ReasonRecalledMoved, check: sgtin, status: StatusActive, owner: "acme", quarant: true},
		{name: "ship a quarantined item", have: []*Item{item(sgtin, "acme", StatusActive, func(i *Item) { i.Quarantined = true })}, by: "acme",
			f:      facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", EPCList: []string{sgtin}},
			reason: ReasonQuarantinedMoved, check: sgtin, status: StatusActive, owner: "acme", quarant: true},
		{name: "recall a lot by its owner", by: "acme", f: facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "recalling", QuantityClasses: []string{lgtin}},
			check: lgtin, status: StatusRecalled, owner: "acme"},
		{name: "recall another company's lot", by: "globex", f: facts{Type: "ObjectEvent", Action: "OBSERVE", Disposition: "recalled", QuantityClasses: []string{lgtin}},
			reason: ReasonNotOwner, check: lgtin, status: StatusUnknown, quarant: true},
		{name: "decommission", have: []*Item{item(sgtin, "acme", StatusActive)}, by: "acme",
			f:     facts{Type: "ObjectEvent", Action: "DELETE", EPCList: []string{sgtin}},
			check: sgtin, status: StatusDecommissioned, owner: "acme"},
		{name: "pack", have: []*Item{item(sgtin, "acme", StatusActive)}, by: "acme",
			f:     facts{Type: "AggregationEvent", Action: "ADD", BizStep: "packing", ParentID: sscc, ChildEPCs: []string{sgtin}},
			check: sgtin, status: StatusActive, owner: "acme"},
		{name: "pack what is inside another case", have: []*Item{item(sgtin, "acme", StatusActive, func(i *Item) { i.Parent = "elsewhere" })}, by: "acme",
			f:      facts{Type: "AggregationEvent", Action: "ADD", BizStep: "packing", ParentID: sscc, ChildEPCs: []string{sgtin}},
			reason: ReasonAlreadyAggregated, check: sgtin, status: StatusActive, owner: "acme", quarant: true},
		{name: "unpack what is not inside", have: []*Item{item(sgtin, "acme", StatusActive), item(sscc, "acme", StatusActive)}, by: "acme",
			f:      facts{Type: "AggregationEvent", Action: "DELETE", BizStep: "unpacking", ParentID: sscc, ChildEPCs: []string{sgtin}},
			reason: ReasonNotAggregated, check: sgtin, status: StatusActive, owner: "acme", quarant: true},
		{name: "transformation consumes its inputs", have: []*Item{item(sgtin, "acme", StatusActive)}, by: "acme",
			f:     facts{Type: "TransformationEvent", InputEPCs: []string{sgtin}, OutputEPCs: []string{sgtin2}},
			check: sgtin, status: StatusConsumed, owner: "acme"},
		{name: "a consumed input cannot be transformed again", have: []*Item{item(sgtin, "acme", StatusConsumed)}, by: "acme",
			f:      facts{Type: "TransformationEvent", InputEPCs: []string{sgtin}},
			reason: ReasonRetiredMoved, check: sgtin, status: StatusConsumed, owner: "acme", quarant: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := mapLedger{items: map[string]*Item{}, glns: map[string]string{"0614141000005": "wholesaler"}}
			for _, it := range c.have {
				l.items[it.ID] = it
			}
			prefixes := map[string][]string{"acme": {"4012345"}}[c.by]
			dec := Decide(l, c.by, prefixes, c.f, "d1")
			var reasons []string
			for _, v := range dec.Violations {
				reasons = append(reasons, v.Reason)
			}
			if (c.reason == "" && len(reasons) != 0) || (c.reason != "" && (len(reasons) != 1 || reasons[0] != c.reason)) {
				t.Fatalf("violations %v, want %q", dec.Violations, c.reason)
			}
			var got *Item
			for _, it := range dec.Items {
				if it.ID == CanonicalID(c.check) {
					got = it
				}
			}
			if got == nil {
				t.Fatalf("%s not among the changed items %v", c.check, dec.Items)
			}
			if got.Status != c.status || got.Owner != c.owner || got.ShippedTo != c.shipped || got.Quarantined != c.quarant {
				t.Fatalf("%s: %+v, want status %s owner %q shipped to %q quarantined %v", c.check, got, c.status, c.owner, c.shipped, c.quarant)
			}
			if got.Events[len(got.Events)-1] != "d1" {
				t.Fatalf("the event is not in the item's history: %v", got.Events)
			}
			for _, it := range c.have { // the decision is pure: the ledger's records are untouched
				if it.Quarantined != (c.name == "ship a quarantined item") || len(it.Events) != 0 {
					t.Fatalf("the decision changed the ledger's record %+v", it)
				}
			}
		})
	}
}

// Shipping a pallet ships its cases and their items; receiving it receives them all.
func TestDecideMovesWhatIsAggregated(t *testing.T) {
	caseID := "urn:epc:id:sscc:4012345.0000000002"
	l := mapLedger{items: map[string]*Item{}, glns: map[string]string{"0614141000005": "wholesaler"}}
	for _, it := range []*Item{
		item(sscc, "acme", StatusActive, func(i *Item) { i.Children = []string{CanonicalID(caseID)} }),
		item(caseID, "acme", StatusActive, func(i *Item) { i.Parent = CanonicalID(sscc); i.Children = []string{CanonicalID(sgtin)} }),
		item(sgtin, "acme", StatusActive, func(i *Item) { i.Parent = CanonicalID(caseID) }),
	} {
		l.items[it.ID] = it
	}
	dec := Decide(l, "acme", []string{"4012345"}, facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", EPCList: []string{sscc},
		Destinations: [][2]string{{"urn:epcglobal:cbv:sdt:location", "urn:epc:id:sgln:0614141.00000.0"}}}, "d1")
	if len(dec.Violations) != 0 || len(dec.Items) != 3 {
		t.Fatalf("%+v", dec)
	}
	for _, it := range dec.Items {
		if it.Status != StatusInTransit || it.ShippedTo != "wholesaler" || !it.InCustody("wholesaler") {
			t.Fatalf("%+v", it)
		}
		l.items[it.ID] = it
	}
	dec = Decide(l, "wholesaler", nil, facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "receiving", EPCList: []string{sscc}}, "d2")
	if len(dec.Violations) != 0 || len(dec.Items) != 3 {
		t.Fatalf("%+v", dec)
	}
	for _, it := range dec.Items {
		if it.Status != StatusActive || it.Owner != "wholesaler" || it.Parent == "" && it.ID != CanonicalID(sscc) {
			t.Fatalf("%+v", it)
		}
	}
}

// Packing opens a stay in the parent, unpacking closes it; what is inside a unit that may
// not move stays with the unit.
func TestDecideStaysAndBlockedUnits(t *testing.T) {
	caseID := "urn:epc:id:sscc:4012345.0000000002"
	l := mapLedger{items: map[string]*Item{}, glns: map[string]string{"0614141000005": "wholesaler"}}
	l.items[CanonicalID(sgtin)] = item(sgtin, "acme", StatusActive)
	apply := func(f facts, digest string) Decision {
		dec := Decide(l, "acme", []string{"4012345"}, f, digest)
		for _, it := range dec.Items {
			l.items[it.ID] = it
		}
		return dec
	}
	apply(facts{Type: "AggregationEvent", Action: "ADD", ParentID: caseID, ChildEPCs: []string{sgtin}}, "in")
	if s := l.items[CanonicalID(sgtin)].Stays; len(s) != 1 || s[0] != (Stay{Parent: CanonicalID(caseID), In: "in"}) {
		t.Fatalf("stays after packing: %+v", s)
	}
	apply(facts{Type: "AggregationEvent", Action: "ADD", ParentID: caseID, ChildEPCs: []string{sgtin}}, "again")
	if s := l.items[CanonicalID(sgtin)].Stays; len(s) != 1 {
		t.Fatalf("packing into the same case again opened another stay: %+v", s)
	}
	apply(facts{Type: "AggregationEvent", Action: "DELETE", ParentID: caseID}, "out")
	if s := l.items[CanonicalID(sgtin)].Stays; len(s) != 1 || s[0].Out != "out" {
		t.Fatalf("stays after unpacking: %+v", s)
	}

	apply(facts{Type: "AggregationEvent", Action: "ADD", ParentID: caseID, ChildEPCs: []string{sgtin}}, "in2")
	l.items[CanonicalID(caseID)].Quarantined = true
	dec := apply(facts{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", EPCList: []string{caseID},
		Destinations: [][2]string{{"owning_party", "urn:epc:id:pgln:0614141.00000"}}}, "ship")
	if len(dec.Violations) != 1 || dec.Violations[0].Reason != ReasonQuarantinedMoved {
		t.Fatalf("violations %+v", dec.Violations)
	}
	if it := l.items[CanonicalID(sgtin)]; it.Status != StatusActive || it.ShippedTo != "" {
		t.Fatalf("the item in the quarantined case shipped: %+v", it)
	}
}
