package supply

import (
	"testing"
)

// TestTraceLot: a lot's packs, from the lot index, each with the case it is in; a
// partner sees those it held, a competitor none; pages go on by identifier and together
// answer the lot once.
func TestTraceLot(t *testing.T) {
	v, who := queryLedger(t)
	regulator, globex, wholesaler := who[0], who[2], who[3]
	lot := LotID("04012345123456", "L0")
	if lot != "https://id.gs1.org/01/04012345123456/10/L0" || LotID("urn:epc:idpat:sgtin:4012345.012345.*", "L0") != lot ||
		LotID("https://id.gs1.org/01/04012345123456", "L0") != lot {
		t.Fatalf("lot id %q", lot)
	}
	for _, bad := range [][2]string{{"0401234512345", "L0"}, {"04012345123456", ""}, {"urn:epc:idpat:sgtin:4012345.*.*", "L0"}, {"04012345123456", "L/0"}} {
		if id := LotID(bad[0], bad[1]); id != "" {
			t.Errorf("LotID(%q, %q) = %q", bad[0], bad[1], id)
		}
	}
	all := TraceLot(v, regulator, lot, "", 0)
	if len(all.Packs) != 8 || all.Next != "" || all.Record != nil {
		t.Fatalf("the regulator sees %d packs (next %q, record %v)", len(all.Packs), all.Next, all.Record)
	}
	for _, p := range all.Packs {
		if p.Item.Lot != lot || len(p.Within) != 1 || p.Within[0].ID != p.Item.Parent || p.Item.Owner != "wholesaler" {
			t.Errorf("pack %s", p)
		}
	}
	if w := TraceLot(v, wholesaler, lot, "", 0); len(w.Packs) != 8 {
		t.Fatalf("the wholesaler, which received both cases, sees %d packs", len(w.Packs))
	}
	if g := TraceLot(v, globex, lot, "", 0); len(g.Packs) != 0 {
		t.Fatalf("Globex sees %d of Acme's packs", len(g.Packs))
	}
	if n := TraceLot(v, nil, lot, "", 0); len(n.Packs) != 0 {
		t.Fatalf("no one sees %d packs", len(n.Packs))
	}
	var paged []string
	after := ""
	for pages := 0; pages < 10; pages++ {
		page := TraceLot(v, regulator, lot, after, 3)
		for _, p := range page.Packs {
			paged = append(paged, p.Item.ID)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(paged) != 8 {
		t.Fatalf("pages of 3 answered %v", paged)
	}
	for i := range paged {
		if paged[i] != all.Packs[i].Item.ID {
			t.Fatalf("pages of 3 answered %v, one page %v", paged, all.Packs)
		}
	}
}
