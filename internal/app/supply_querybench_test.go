package app

import (
	"net/url"
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/supply"
)

// BenchmarkQuery is one page of supply.RunQuery (what GET /epcis/events does before
// encoding JSON) with 10^5 events on the ledger, for the wholesaler that holds a pallet:
// by one item (the identifier index), with no filter (its visibility index), and for a
// regulator asking a business step few events have (ledger order, one page reads at most
// supply.MaxQueryScan index entries).
func BenchmarkQuery(b *testing.B) {
	h, c, item, _ := palletLedger(b)
	v := h.st.Committed()
	wholesaler, regulator := identity.Get(v, c.wholesaler.ID), identity.Get(v, c.regulator.ID)
	for _, bc := range []struct {
		name   string
		who    *identity.Identity
		params url.Values
		want   int
	}{
		{"partner/MATCH_epc", wholesaler, url.Values{"MATCH_epc": {item}}, 2},
		{"partner/all", wholesaler, url.Values{}, 7},
		{"regulator/EQ_bizStep", regulator, url.Values{"EQ_bizStep": {"shipping"}}, 1},
	} {
		q, pg, err := supply.ParseQuery(bc.params)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if page := supply.RunQuery(v, bc.who, q, pg); len(page.Events) != bc.want {
					b.Fatalf("%d events", len(page.Events))
				}
			}
		})
	}
}
