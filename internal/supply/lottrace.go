package supply

import (
	"fmt"
	"strings"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// MaxLotPacks bounds the packs one page of a lot trace answers.
const MaxLotPacks = 200

// LotPack is one serial of a lot: its custody record and the units it is inside now,
// innermost first (its case, the case's pallet).
type LotPack struct {
	Item   *Item
	Within []*Item
}

// LotTrace is one page of a lot's packs, in identifier order.
type LotTrace struct {
	Lot    string // the lot's canonical Digital Link (GTIN and lot number)
	Record *Item  // the lot's own record (it exists once an event named the lot: a recall), or nil
	// RecordHidden: the lot has a record, which who may not trace (it names the partners
	// that held the lot); its recall status is public at GET /epcis/verify.
	RecordHidden bool
	Packs        []LotPack
	Next         string // the last pack's identifier when more may follow: pass it as after
}

// LotID is the canonical identifier of lot lotNumber of a GTIN given as its 14 digits, its
// Digital Link or an EPC pattern of its serials (urn:epc:idpat:sgtin:CP.IR.*), as
// commissioning keys the lot; "" if gtin names no GTIN.
func LotID(gtin, lotNumber string) string {
	g := gtin
	if len(g) != 14 || !allDigits(g) {
		v, err := ParseEPCValue(gtin)
		if err != nil || v.Pattern == nil || v.Pattern.AI != "01" || v.Pattern.Class == "" {
			return ""
		}
		g = v.Pattern.Class
	}
	if lotNumber == "" || strings.ContainsAny(lotNumber, "/?#") {
		return ""
	}
	return CanonicalID(dlRoot + "01/" + g + "/10/" + lotNumber)
}

// TraceLot lists the packs commissioned into lot (canonical) after the identifier after
// ("" from the first), at most limit, that who may trace (MayTrace: a regulator every
// pack, a partner those it owned or received). A page also ends after MaxQueryScan
// entries of the lot's index, so a partner that holds few of a large lot's packs pages
// through it.
func TraceLot(r RangeReader, who *identity.Identity, lot string, after string, limit int) *LotTrace {
	t := &LotTrace{Lot: lot}
	if rec := getItem(r, lot); rec != nil && MayTrace(who, rec) {
		t.Record = rec
	} else if rec != nil {
		t.RecordHidden = true
	}
	if limit <= 0 || limit > MaxLotPacks {
		limit = MaxLotPacks
	}
	prefix := lotIndex(lot)
	from := prefix
	if after != "" {
		from = prefix + after + "\x00"
	}
	scanned := 0
	r.IterateFrom([]byte(prefix), []byte(from), func(k, _ []byte) bool {
		id := string(k[len(prefix):])
		if len(t.Packs) == limit || scanned == MaxQueryScan {
			t.Next = after
			return false
		}
		scanned++
		after = id
		it := getItem(r, id)
		if it == nil || it.Lot != lot || !MayTrace(who, it) {
			return true
		}
		t.Packs = append(t.Packs, LotPack{Item: it, Within: within(r, it)})
		return true
	})
	return t
}

// within is the chain of units an item is inside now, innermost first, at most
// MaxTraceDepth deep (a cycle, which the custody contract never writes, ends it).
func within(r identity.Reader, it *Item) []*Item {
	var out []*Item
	seen := map[string]bool{it.ID: true}
	for p := it.Parent; p != "" && len(out) < MaxTraceDepth && !seen[p]; {
		seen[p] = true
		u := getItem(r, p)
		if u == nil {
			break
		}
		out = append(out, u)
		p = u.Parent
	}
	return out
}

// String is a one-line summary of a pack, for logs and tests.
func (p LotPack) String() string {
	s := fmt.Sprintf("%s %s owner %s", p.Item.ID, p.Item.Status, p.Item.Owner)
	for _, u := range p.Within {
		s += " in " + u.ID
	}
	return s
}
