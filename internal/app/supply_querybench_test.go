package app

import (
	"fmt"
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
	h := newHarness(b)
	c := h.registerSupply()
	const total, perDoc = 100_000, 500
	item, caseID, pallet := sgtinOf("1"), ssccOf("0000000001"), ssccOf("0000000002")
	h.clean(c.acme, commissionEv("L1", "2027-06-30", item), packEv(caseID, item), packEv(pallet, caseID),
		observeEv("storing", pallet), shipEv(wholesalerParty, pallet))
	h.clean(c.wholesaler, observeEv("receiving", pallet), observeEv("storing", pallet))
	for n := 7; n < total; n += perDoc {
		batch := make([]string, perDoc)
		for i := range batch {
			batch[i] = commissionEv("L1", "2027-06-30", sgtinOf(fmt.Sprint(n+i+10)))
		}
		h.clean(c.acme, batch...)
	}
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
