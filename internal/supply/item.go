package supply

import (
	"fmt"
	"slices"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Item statuses. Only an active item moves; the others are where custody ends (or, for
// unknown, a record that exists only because an event named what was never commissioned).
const (
	StatusActive         = "active"
	StatusInTransit      = "in_transit"
	StatusDispensed      = "dispensed"
	StatusDecommissioned = "decommissioned"
	StatusDestroyed      = "destroyed"
	StatusConsumed       = "consumed" // a transformation's input
	StatusRecalled       = "recalled"
	StatusUnknown        = "unknown" // never commissioned
	StatusVoid           = "void"    // the event that made it was declared erroneous; it may be commissioned again
)

// Item is the custody record of one serialised item (SGTIN), logistic unit (SSCC) or lot
// (LGTIN), by its canonical GS1 Digital Link URI.
type Item struct {
	ID          string   `json:"id"`
	Owner       string   `json:"owner,omitempty"`
	Status      string   `json:"status"`
	ShippedTo   string   `json:"shipped_to,omitempty"` // the named receiver while in transit
	Lot         string   `json:"lot,omitempty"`        // the item's lot (from commissioning's ilmd)
	Expiry      string   `json:"expiry,omitempty"`     // its itemExpirationDate (YYYY-MM-DD), from the same ilmd
	Parent      string   `json:"parent,omitempty"`
	Children    []string `json:"children,omitempty"`
	Quarantined bool     `json:"quarantined,omitempty"`
	Suspects    []uint64 `json:"suspects,omitempty"` // suspect-product events naming it
	Releases    []uint64 `json:"releases,omitempty"` // the regulators' releases of it from quarantine
	Custody     []string `json:"custody,omitempty"`  // partners that owned it or were named its receiver
	Stays       []Stay   `json:"stays,omitempty"`    // the units it was packed into, in order
	Events      []string `json:"events"`             // hex digests of its events, in ledger order
}

// ItemKey is the state key of an item's custody record.
func ItemKey(id string) []byte { return []byte("supply/item/" + id) }

func (it *Item) clone() *Item {
	c := *it
	c.Children = slices.Clone(it.Children)
	c.Suspects = slices.Clone(it.Suspects)
	c.Releases = slices.Clone(it.Releases)
	c.Custody = slices.Clone(it.Custody)
	c.Events = slices.Clone(it.Events)
	c.Stays = slices.Clone(it.Stays)
	return &c
}

// Stay is a time an item spent inside a case or pallet: from the event that packed it
// (In, hex digest) to the one that unpacked it (Out; "" while it is inside). A trace
// follows it to the unit's events of that time.
type Stay struct {
	Parent string `json:"parent"`
	In     string `json:"in"`
	Out    string `json:"out,omitempty"`
}

// leave closes the open stay in parent.
func (it *Item) leave(parent, digest string) {
	for i := len(it.Stays) - 1; i >= 0; i-- {
		if s := &it.Stays[i]; s.Parent == parent && s.Out == "" {
			s.Out = digest
			return
		}
	}
}

// InCustody says whether partner owned the item or was named its receiver.
func (it *Item) InCustody(partner string) bool { return slices.Contains(it.Custody, partner) }

func (it *Item) addCustody(partner string) {
	if partner != "" && !it.InCustody(partner) {
		it.Custody = append(it.Custody, partner)
	}
}

// GetItem loads an item's custody record by its identifier in any GS1 form, or nil.
func GetItem(r identity.Reader, id string) *Item {
	return getItem(r, CanonicalID(id))
}

func getItem(r identity.Reader, canon string) *Item {
	return tx.LoadJSON[Item](r, ItemKey(canon), "supply")
}

// Suspect is a suspect-product event (DSCSA's illegitimate-product notification): a
// captured event broke the custody contract. The capture is kept; the items it names are
// quarantined; the parties involved and regulators may read it.
type Suspect struct {
	Seq        uint64   `json:"seq"`
	Reason     string   `json:"reason"`
	Detail     string   `json:"detail"`
	Items      []string `json:"items"`
	Event      string   `json:"event"` // the Event Hash ID of the offending event
	CapturedBy string   `json:"captured_by"`
	Parties    []string `json:"parties"` // the capturer and the items' owners and receivers
	Height     int64    `json:"height"`
	Tx         string   `json:"tx"`
}

// SuspectKey is the state key of suspect event seq; suspectCountKey holds how many exist.
func SuspectKey(seq uint64) []byte { return fmt.Appendf(nil, "supply/suspect/%020d", seq) }

var suspectCountKey = []byte("supply/suspectn")

// suspectPartyKey indexes suspect event seq under each party it involves, so that a
// partner lists its own without reading everyone's.
func suspectPartyKey(party string, seq uint64) []byte {
	return fmt.Appendf(nil, "supply/suspectp/%s/%020d", party, seq)
}

// SuspectsOf lists, in order, the suspect events after seq that involve party, at most
// limit of them, and whether more follow.
func SuspectsOf(r Iterator, party string, after uint64, limit int) ([]*Suspect, bool) {
	var out []*Suspect
	more := false
	prefix := []byte("supply/suspectp/" + party + "/")
	r.Iterate(prefix, func(k, _ []byte) bool {
		var seq uint64
		if _, err := fmt.Sscan(string(k[len(prefix):]), &seq); err != nil || seq <= after {
			return true
		}
		if len(out) == limit {
			more = true
			return false
		}
		if s := GetSuspect(r, seq); s != nil {
			out = append(out, s)
		}
		return true
	})
	return out, more
}

// Iterator is a reader that scans a key prefix in order.
type Iterator interface {
	identity.Reader
	Iterate(prefix []byte, fn func(k, v []byte) bool)
}

// SuspectsAfter lists every suspect event after seq, at most limit, and whether more
// follow: the regulator's view.
func SuspectsAfter(r identity.Reader, after uint64, limit int) ([]*Suspect, bool) {
	n := SuspectCount(r)
	var out []*Suspect
	for seq := after + 1; seq <= n && len(out) < limit; seq++ {
		if s := GetSuspect(r, seq); s != nil {
			out = append(out, s)
		}
	}
	return out, after+uint64(len(out)) < n
}

// SuspectCount is the number of suspect-product events on the ledger (seq 1..n).
func SuspectCount(r identity.Reader) uint64 {
	var n uint64
	if b := r.Get(suspectCountKey); b != nil {
		fmt.Sscan(string(b), &n)
	}
	return n
}

// GetSuspect loads suspect event seq, or nil.
func GetSuspect(r identity.Reader, seq uint64) *Suspect {
	return tx.LoadJSON[Suspect](r, SuspectKey(seq), "supply")
}
