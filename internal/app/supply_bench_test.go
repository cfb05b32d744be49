package app

import (
	"fmt"
	"testing"

	"github.com/ehrchain/ehrchain/internal/supply"
)

// BenchmarkTraceThreeLevels is the trace of one item packed into a case packed onto a
// pallet, with 10^5 events on the ledger: supply.Trace on the committed view and a state
// proof of every record and event it answers (what GET /epcis/items/{epc}/trace does
// before encoding JSON).
func BenchmarkTraceThreeLevels(b *testing.B) {
	h, _, item, total := palletLedger(b)
	v := h.st.Committed()
	if n := supply.EventCount(v); n < total {
		b.Fatalf("%d events on the ledger", n)
	}
	canon := supply.CanonicalID(item)
	b.ResetTimer()
	for b.Loop() {
		tr := supply.Trace(v, canon)
		if len(tr.Steps) != 7 || len(tr.Items) != 3 {
			b.Fatalf("trace: %d steps, %d records", len(tr.Steps), len(tr.Items))
		}
		for _, it := range tr.Items {
			if _, err := v.Prove(supply.ItemKey(it.ID)); err != nil {
				b.Fatal(err)
			}
		}
		for _, st := range tr.Steps {
			if _, err := v.Prove(supply.EventKey(st.Digest)); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// palletLedger is a ledger of 10^5 events on which the wholesaler holds a pallet with a case
// holding item (the first 7 events), the rest commissioning other packs: what the trace and
// query benchmarks run against.
func palletLedger(b *testing.B) (h *harness, c supplyCast, item string, total uint64) {
	h = newHarness(b)
	c = h.registerSupply()
	const perDoc = 500
	total = 100_000
	n0 := 7
	item, caseID, pallet := sgtinOf("1"), ssccOf("0000000001"), ssccOf("0000000002")
	h.clean(c.acme, commissionEv("L1", "2027-06-30", item), packEv(caseID, item), packEv(pallet, caseID),
		observeEv("storing", pallet), shipEv(wholesalerParty, pallet))
	h.clean(c.wholesaler, observeEv("receiving", pallet), observeEv("storing", pallet))
	for n := n0; uint64(n) < total; n += perDoc {
		batch := make([]string, perDoc)
		for i := range batch {
			batch[i] = commissionEv("L1", "2027-06-30", sgtinOf(fmt.Sprint(n+i+10)))
		}
		h.clean(c.acme, batch...)
	}
	return h, c, item, total
}
