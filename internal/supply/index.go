package supply

import (
	"fmt"
	"slices"
	"strconv"
)

// The query indexes, written at commit beside each new event so that an EPCIS query reads
// the events it may answer, not every event on the ledger:
//
//	epcis/seq/<seq>                    → the event's digest (ledger order)
//	epcis/ixe/<canonical id>\x00<seq>  → the fields naming the identifier (Role* bits)
//	epcis/ixl/<canonical location>\x00<seq> (its bizLocation)
//	epcis/vis/<partner>/<seq>          (the partner may read the event)
//
// and, for the other indexed query parameters and the EPC patterns (indexfields.go):
//
//	epcis/ixy/<eventType>\x00<seq>, epcis/ixs/<bizStep>\x00<seq>, epcis/ixd/<disposition>\x00<seq>
//	epcis/ixt/<Y2026|M202601|D20260102>\x00<seq> → the eventTime (UTC, sortable)
//	epcis/ixp/<ai>/…\x00<seq>          (the scheme, company prefix and class of each EPC)
//	epcis/lot/<lot>\x00<item>          (an item commissioned into the lot)
//
// <seq> is StoredEvent.Seq in 20 decimal digits, so keys sort in ledger order: every
// index of one value is a list in ledger order, and a query intersects such lists
// (plan.go).
const (
	seqPrefix = "epcis/seq/"
	epcPrefix = "epcis/ixe/"
	locPrefix = "epcis/ixl/"
	visPrefix = "epcis/vis/"
)

// The fields of an event that name an identifier, as the EPCIS MATCH_ parameters read them.
const (
	RoleEPC    byte = 1 << iota // epcList, childEPCs (MATCH_epc)
	RoleParent                  // parentID
	RoleInput                   // inputEPCList
	RoleOutput                  // outputEPCList
)

func seqText(seq uint64) string { return fmt.Sprintf("%020d", seq) }

func seqKey(seq uint64) []byte { return []byte(seqPrefix + seqText(seq)) }

// epcIndex and locIndex are the key prefixes of one identifier's or location's events.
func epcIndex(canon string) string   { return epcPrefix + canon + "\x00" }
func locIndex(canon string) string   { return locPrefix + canon + "\x00" }
func visIndex(partner string) string { return visPrefix + partner + "/" }

func visKey(partner string, seq uint64) []byte { return []byte(visIndex(partner) + seqText(seq)) }

// seqOf parses the 20-digit sequence number that ends an index key after prefix; ok is
// false for a key of a longer identifier that happens to share the prefix.
func seqOf(key []byte, prefix string) (uint64, bool) {
	s := string(key[len(prefix):])
	if len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// DigestAt is the digest of the seq-th stored event, or "".
func DigestAt(r interface{ Get([]byte) []byte }, seq uint64) string {
	return string(r.Get(seqKey(seq)))
}

// indexEvent writes the ledger-order, identifier and location indexes of a new event.
func indexEvent(st Store, seq uint64, digest string, f facts) {
	st.Set(seqKey(seq), []byte(digest))
	roles := map[string]byte{}
	var order []string
	add := func(role byte, ids ...string) {
		for _, id := range ids {
			if id == "" {
				continue
			}
			c := CanonicalID(id)
			if _, ok := roles[c]; !ok {
				order = append(order, c)
			}
			roles[c] |= role
		}
	}
	add(RoleEPC, f.EPCList...)
	add(RoleEPC, f.ChildEPCs...)
	add(RoleParent, f.ParentID)
	add(RoleInput, f.InputEPCs...)
	add(RoleOutput, f.OutputEPCs...)
	for _, c := range order { // document order, not the map's
		st.Set([]byte(epcIndex(c)+seqText(seq)), []byte{roles[c]})
	}
	if f.BizLocation != "" {
		st.Set([]byte(locIndex(CanonicalID(f.BizLocation))+seqText(seq)), []byte{1})
	}
	indexClasses(st, seq, order, roles)
	indexFields(st, seq, f)
}

// grantVisibility indexes a new event (seq) for its capturer and for every partner in the
// custody of an item it names; a partner new to an item's custody gets the item's earlier
// events too, so a receiver reads the history of what it holds. It runs before the items
// the event changed are written, so the stored records are the custody before the event.
func grantVisibility(st Store, signer string, seq uint64, items []*Item) {
	done := map[string]bool{}
	seqs := map[string]uint64{}
	set := func(p string, s uint64) {
		k := visKey(p, s)
		if !done[string(k)] {
			done[string(k)] = true
			st.Set(k, []byte{1})
		}
	}
	set(signer, seq)
	for _, it := range items {
		var before []string
		if old := getItem(st, it.ID); old != nil {
			before = old.Custody
		}
		for _, p := range it.Custody {
			set(p, seq)
			if slices.Contains(before, p) {
				continue
			}
			for _, d := range it.Events {
				s, ok := seqs[d]
				if !ok {
					if ev := GetEvent(st, d); ev != nil {
						s = ev.Seq
					}
					seqs[d] = s
				}
				if s > 0 {
					set(p, s)
				}
			}
		}
	}
}

// Visible says whether the event seq is indexed for partner: it captured it, or it is in
// the custody of an item the event names.
func Visible(r interface{ Get([]byte) []byte }, partner string, seq uint64) bool {
	return r.Get(visKey(partner, seq)) != nil
}
