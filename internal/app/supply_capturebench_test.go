package app

import (
	"fmt"
	"testing"
)

// BenchmarkCaptureTenEvents commits one capture of a document of 10 events a block: five
// packs commissioned and the same five shipped, so every event changes custody (and
// leaves what its error declaration would undo).
func BenchmarkCaptureTenEvents(b *testing.B) {
	h := newHarness(b)
	c := h.registerSupply()
	n := 0
	for b.Loop() {
		var packs []string
		for range 5 {
			n++
			packs = append(packs, sgtinOf(fmt.Sprint(n)))
		}
		events := make([]string, 0, 10)
		for _, p := range packs {
			events = append(events, commissionEv("L1", "2027-06-30", p))
		}
		for _, p := range packs {
			events = append(events, shipEv(wholesalerParty, p))
		}
		h.clean(c.acme, events...)
	}
}
