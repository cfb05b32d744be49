package supply

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/epcis"
)

// Suspect reasons (stable words: they are what a regulator filters on).
const (
	ReasonDuplicateSerial   = "duplicate_serial"   // commissioned again
	ReasonUnknownItem       = "unknown_item"       // moved or packed, never commissioned
	ReasonNotOwner          = "not_owner"          // moved, packed or retired by a partner that does not own it
	ReasonUnshippedReceipt  = "unshipped_receipt"  // received, never shipped
	ReasonNotReceiver       = "not_receiver"       // received by another partner than the one it was shipped to
	ReasonDispensedTwice    = "dispensed_twice"    // dispensed after it was dispensed
	ReasonRetiredMoved      = "retired_moved"      // moved after it was decommissioned, destroyed, dispensed or consumed
	ReasonRecalledMoved     = "recalled_moved"     // moved while it or its lot is recalled
	ReasonQuarantinedMoved  = "quarantined_moved"  // moved while quarantined
	ReasonAlreadyAggregated = "already_aggregated" // packed into a parent while inside another
	ReasonNotAggregated     = "not_aggregated"     // unpacked from a parent it is not in
	ReasonInTransit         = "in_transit"         // moved by its owner while shipped to another
)

// Ledger is what a custody decision reads: items and who a GLN is bound to.
type Ledger interface {
	Item(canon string) *Item
	PartnerAt(gln string) string
}

// Violation is one breach of the custody contract by one event.
type Violation struct {
	Reason  string
	Detail  string
	Items   []string
	Parties []string
}

// Decision is what one event does to custody: the items it changed, in the order first
// touched, and its violations, each naming items now quarantined.
type Decision struct {
	Items      []*Item
	Violations []Violation
}

// CanonicalID is the form items are keyed by: the canonical GS1 Digital Link URI of a GS1
// key (any EPC URI or Digital Link spelling), or the identifier itself.
func CanonicalID(id string) string { return epcis.NormaliseID(id) }

type decider struct {
	l        Ledger
	capturer string
	prefixes []string
	digest   string
	seen     map[string]*Item
	order    []*Item
	viol     []Violation
}

// get is the item as this event has left it so far (nil if the ledger has none).
func (d *decider) get(id string) *Item {
	if it, ok := d.seen[id]; ok {
		return it
	}
	it := d.l.Item(id)
	if it != nil {
		it = it.clone()
		d.touch(it)
	}
	return it
}

// touch records that the event names it.
func (d *decider) touch(it *Item) {
	if _, ok := d.seen[it.ID]; ok {
		return
	}
	d.seen[it.ID] = it
	d.order = append(d.order, it)
	if len(it.Events) == 0 || it.Events[len(it.Events)-1] != d.digest {
		it.Events = append(it.Events, d.digest)
	}
}

func (d *decider) create(id, owner, status string) *Item {
	it := &Item{ID: id, Owner: owner, Status: status}
	it.addCustody(owner)
	d.touch(it)
	return it
}

// violate quarantines it and records the breach; one violation per reason per event.
func (d *decider) violate(reason string, it *Item, detail string, args ...any) {
	it.Quarantined = true
	parties := []string{d.capturer, it.Owner, it.ShippedTo}
	for i := range d.viol {
		if v := &d.viol[i]; v.Reason == reason {
			v.Items = append(v.Items, it.ID)
			v.Parties = addAll(v.Parties, parties)
			return
		}
	}
	d.viol = append(d.viol, Violation{Reason: reason, Detail: fmt.Sprintf(detail, args...), Items: []string{it.ID}, Parties: addAll(nil, parties)})
}

func addAll(set, add []string) []string {
	for _, p := range add {
		if p != "" && !slices.Contains(set, p) {
			set = append(set, p)
		}
	}
	return set
}

// Decide applies the custody contract to one captured event. It is pure: it reads only
// the ledger it is given and returns the new records, so the rules are table-tested.
func Decide(l Ledger, capturer string, prefixes []string, f facts, digest string) Decision {
	d := &decider{l: l, capturer: capturer, prefixes: prefixes, digest: digest, seen: map[string]*Item{}}
	step := bizStep(f.BizStep)
	switch f.Type {
	case "ObjectEvent":
		subjects := canonAll(append(slices.Clone(f.EPCList), f.QuantityClasses...))
		switch {
		case strings.EqualFold(f.Action, "ADD") && step == "commissioning":
			for _, id := range subjects {
				d.commission(id, f.lotOf(id), f.Expiry)
			}
		case strings.EqualFold(f.Action, "DELETE") || step == "decommissioning":
			d.retire(subjects, StatusDecommissioned)
		default:
			d.object(step, f, subjects)
		}
	case "AggregationEvent":
		d.aggregation(f, step)
	case "TransformationEvent":
		for _, id := range canonAll(append(slices.Clone(f.InputEPCs), f.InputQuantityCls...)) {
			if it := d.movable(id, "transform"); it != nil {
				it.Status = StatusConsumed
			}
		}
		for _, id := range canonAll(append(slices.Clone(f.OutputEPCs), f.OutputQuantityCls...)) {
			d.commission(id, f.lotOf(id), f.Expiry)
		}
	default: // TransactionEvent, AssociationEvent: named items gain the event in their history
		for _, id := range canonAll(append(append(slices.Clone(f.EPCList), f.QuantityClasses...), f.ParentID)) {
			d.get(id)
		}
	}
	return Decision{Items: d.order, Violations: d.viol}
}

func canonAll(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id != "" {
			if c := CanonicalID(id); !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// bizStep is a CBV business step's bare word, from any of its spellings.
func bizStep(s string) string {
	for _, p := range []string{"urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"} {
		if w, ok := strings.CutPrefix(s, p); ok {
			return w
		}
	}
	return s
}

// commission brings id into existence. A GS1 key outside the capturer's company
// prefixes (a cloned GTIN) is recorded, quarantined, as a suspect; a serial already on
// the ledger is a duplicate, except that the GTIN's owner takes a record that was only
// seen (unknown: it stays quarantined as a duplicate) or whose making was declared
// erroneous (void: commissioned anew).
func (d *decider) commission(id, lot, expiry string) {
	_, gs1 := companyDigits(id)
	foreign := gs1 && !owns(d.prefixes, id)
	it := d.get(id)
	switch {
	case foreign && (it == nil || it.Status == StatusVoid):
		if it == nil {
			it = d.create(id, d.capturer, StatusUnknown)
		}
		d.violate(ReasonNotOwner, it, "%s was made by %s, which does not own its company prefix", id, d.capturer)
	case it != nil && it.Status == StatusVoid:
		d.activate(it, lot, expiry)
	case it != nil && it.Status == StatusUnknown && gs1 && !foreign:
		seen := orNobody(it.Owner)
		d.activate(it, lot, expiry)
		d.violate(ReasonDuplicateSerial, it, "%s commissioned %s, which was in the supply chain before (unknown, held by %s)", d.capturer, id, seen)
	case it != nil:
		d.violate(ReasonDuplicateSerial, it, "%s was commissioned again by %s: it is already on the ledger (%s, owned by %s)", id, d.capturer, it.Status, orNobody(it.Owner))
	default:
		d.activate(d.create(id, d.capturer, StatusActive), lot, expiry)
	}
}

func (d *decider) activate(it *Item, lot, expiry string) {
	it.Owner, it.Status, it.ShippedTo, it.Lot, it.Expiry = d.capturer, StatusActive, "", lot, expiry
	it.addCustody(d.capturer)
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// movable is the item if the capturer may move it now; otherwise it records why not
// (quarantining it) and returns nil. An unknown identifier gets a quarantined record.
func (d *decider) movable(id, verb string) *Item {
	it := d.get(id)
	switch {
	case it == nil:
		it = d.create(id, "", StatusUnknown)
		d.violate(ReasonUnknownItem, it, "%s tried to %s %s, which was never commissioned", d.capturer, verb, id)
	case it.Status == StatusVoid:
		d.violate(ReasonUnknownItem, it, "%s tried to %s %s, whose commissioning was declared erroneous", d.capturer, verb, id)
	case it.Quarantined:
		d.violate(ReasonQuarantinedMoved, it, "%s tried to %s %s, which is quarantined", d.capturer, verb, id)
	case it.Status == StatusRecalled || d.lotRecalled(it):
		d.violate(ReasonRecalledMoved, it, "%s tried to %s %s, which is recalled", d.capturer, verb, id)
	case it.Status == StatusDispensed && verb == "dispense":
		d.violate(ReasonDispensedTwice, it, "%s was dispensed again, by %s", id, d.capturer)
	case it.Status == StatusInTransit && it.Owner == d.capturer:
		d.violate(ReasonInTransit, it, "%s tried to %s %s, which it shipped to %s", d.capturer, verb, id, orNobody(it.ShippedTo))
	case it.Owner != d.capturer:
		d.violate(ReasonNotOwner, it, "%s tried to %s %s, which %s owns", d.capturer, verb, id, orNobody(it.Owner))
	case it.Status != StatusActive:
		d.violate(ReasonRetiredMoved, it, "%s tried to %s %s, which is %s", d.capturer, verb, id, it.Status)
	default:
		return it
	}
	return nil
}

func (d *decider) lotRecalled(it *Item) bool {
	if it.Lot == "" {
		return false
	}
	lot := d.get(it.Lot)
	return lot != nil && lot.Status == StatusRecalled
}

// each calls move for ids and everything aggregated under them (a pallet's cases and
// their items), each once, parents first. What is inside a unit that may not move stays
// with it: move returning false skips the unit's contents.
func (d *decider) each(ids []string, move func(id string) bool) {
	done := map[string]bool{}
	queue := slices.Clone(ids)
	for len(queue) > 0 && len(done) < MaxTree {
		id := queue[0]
		queue = queue[1:]
		if done[id] {
			continue
		}
		done[id] = true
		if !move(id) {
			continue
		}
		if it := d.get(id); it != nil {
			queue = append(queue, it.Children...)
		}
	}
}

// MaxTree bounds how many items one event moves through aggregation.
const MaxTree = 20000

func (d *decider) retire(ids []string, status string) {
	for _, id := range ids {
		d.retireOne(id, status)
	}
}

func (d *decider) retireOne(id, status string) bool {
	it := d.movable(id, "retire")
	if it != nil {
		it.Status = status
	}
	return it != nil
}

func (d *decider) object(step string, f facts, subjects []string) {
	switch step {
	case "shipping":
		to := d.receiver(f)
		d.each(subjects, func(id string) bool {
			it := d.movable(id, "ship")
			if it != nil {
				it.Status, it.ShippedTo = StatusInTransit, to
				it.addCustody(to)
			}
			return it != nil
		})
	case "receiving":
		d.each(subjects, d.receive)
	case "dispensing":
		d.each(subjects, func(id string) bool {
			it := d.movable(id, "dispense")
			if it != nil {
				it.Status = StatusDispensed
			}
			return it != nil
		})
	case "destroying":
		d.each(subjects, func(id string) bool { return d.retireOne(id, StatusDestroyed) })
	case "recalling":
		d.recall(subjects)
	default:
		if recalledDisposition(f.Disposition) {
			d.recall(subjects)
			return
		}
		for _, id := range subjects {
			d.get(id)
		}
	}
}

func recalledDisposition(s string) bool {
	for _, p := range []string{"", "urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"} {
		if s == p+"recalled" {
			return true
		}
	}
	return false
}

// recall marks items or lots recalled: only the company whose prefix they carry may.
func (d *decider) recall(ids []string) {
	for _, id := range ids {
		it := d.get(id)
		if !owns(d.prefixes, id) {
			if it == nil {
				it = d.create(id, "", StatusUnknown)
			}
			d.violate(ReasonNotOwner, it, "%s tried to recall %s, whose company prefix it does not own", d.capturer, id)
			continue
		}
		if it == nil {
			it = d.create(id, d.capturer, StatusRecalled) // a lot is first named by its recall
		}
		it.Status = StatusRecalled
	}
}

func (d *decider) receive(id string) bool {
	it := d.get(id)
	switch {
	case it == nil:
		it = d.create(id, "", StatusUnknown)
		d.violate(ReasonUnshippedReceipt, it, "%s received %s, which was never commissioned or shipped", d.capturer, id)
	case it.Status != StatusInTransit:
		d.violate(ReasonUnshippedReceipt, it, "%s received %s, which was not shipped (it is %s, owned by %s)", d.capturer, id, it.Status, orNobody(it.Owner))
	case it.ShippedTo != d.capturer:
		d.violate(ReasonNotReceiver, it, "%s received %s, which %s shipped to %s", d.capturer, id, orNobody(it.Owner), orNobody(it.ShippedTo))
	case it.Quarantined:
		d.violate(ReasonQuarantinedMoved, it, "%s received %s, which is quarantined", d.capturer, id)
	default:
		it.Owner, it.Status, it.ShippedTo = d.capturer, StatusActive, ""
		it.addCustody(d.capturer)
		return true
	}
	return false
}

// receiver is the partner a shipment names: its owning party, else its possessing
// party, else its destination location, by the GLN bound to it; "" if none is bound.
func (d *decider) receiver(f facts) string {
	for _, want := range []string{"owning_party", "possessing_party", "location"} {
		for _, p := range f.Destinations {
			if bizStepWord(p[0], "SDT") != want {
				continue
			}
			if partner := d.l.PartnerAt(glnOf(p[1])); partner != "" {
				return partner
			}
		}
	}
	return ""
}

// bizStepWord is a CBV source/destination type's bare word, from any spelling.
func bizStepWord(s, vocab string) string {
	for _, p := range []string{"urn:epcglobal:cbv:" + strings.ToLower(vocab) + ":", "https://ref.gs1.org/cbv/" + vocab + "-"} {
		if w, ok := strings.CutPrefix(s, p); ok {
			return w
		}
	}
	return s
}

// glnOf is the 13-digit GLN of a party (PGLN) or location (SGLN) identifier, or "".
func glnOf(id string) string {
	dl := CanonicalID(id)
	for _, ai := range []string{"https://id.gs1.org/417/", "https://id.gs1.org/414/"} {
		if rest, ok := strings.CutPrefix(dl, ai); ok {
			g, _, _ := strings.Cut(rest, "/")
			if len(g) == 13 && digits(g) {
				return g
			}
		}
	}
	return ""
}

func (d *decider) aggregation(f facts, step string) {
	parentID := ""
	if f.ParentID != "" {
		parentID = CanonicalID(f.ParentID)
	}
	children := canonAll(append(slices.Clone(f.ChildEPCs), f.ChildQuantityCls...))
	switch {
	case strings.EqualFold(f.Action, "ADD") && parentID != "":
		p := d.get(parentID)
		if p == nil {
			p = d.create(parentID, d.capturer, StatusActive) // a case or pallet is made by packing
		} else if d.movable(parentID, "pack into") == nil {
			return
		}
		for _, id := range children {
			c := d.movable(id, "pack")
			switch {
			case c == nil:
			case c.Parent != "" && c.Parent != parentID:
				d.violate(ReasonAlreadyAggregated, c, "%s packed %s into %s, but it is inside %s", d.capturer, id, parentID, c.Parent)
			default:
				if c.Parent != parentID {
					c.Stays = append(c.Stays, Stay{Parent: parentID, In: d.digest})
				}
				c.Parent = parentID
				if !slices.Contains(p.Children, id) {
					p.Children = append(p.Children, id)
				}
			}
		}
	case strings.EqualFold(f.Action, "DELETE") && parentID != "":
		p := d.movable(parentID, "unpack")
		if p == nil {
			return
		}
		if len(children) == 0 {
			children = slices.Clone(p.Children)
		}
		for _, id := range children {
			c := d.get(id)
			if c == nil || c.Parent != parentID {
				if c == nil {
					c = d.create(id, "", StatusUnknown)
				}
				d.violate(ReasonNotAggregated, c, "%s unpacked %s from %s, which it is not inside", d.capturer, id, parentID)
				continue
			}
			c.Parent = ""
			c.leave(parentID, d.digest)
			p.Children = slices.DeleteFunc(p.Children, func(x string) bool { return x == id })
		}
	default: // OBSERVE: shipping or receiving a unit moves everything in it
		var subjects []string
		if parentID != "" {
			subjects = []string{parentID}
		}
		f.EPCList, f.QuantityClasses = nil, nil
		if step == "shipping" || step == "receiving" || step == "dispensing" {
			d.object(step, f, subjects)
			return
		}
		for _, id := range append(subjects, children...) {
			d.get(id)
		}
	}
}
