package interchain_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/supply"
)

// FuzzDispense feeds arbitrary event JSON and pack ids to the dispense rule: it never
// panics, and whatever it accepts is an ObjectEvent of a dispense that names the pack.
func FuzzDispense(f *testing.F) {
	const pack = "urn:epc:id:sgtin:4012345.012345.1001"
	f.Add([]byte(`{"type":"ObjectEvent","bizStep":"dispensing","epcList":["`+pack+`"]}`), pack)
	f.Add([]byte(`{"type":"ObjectEvent","disposition":"https://ref.gs1.org/cbv/Disp-dispensed","epcList":["https://id.gs1.org/01/04012345123456/21/1001"]}`), pack)
	f.Add([]byte(`{"type":"ObjectEvent","bizStep":"shipping","epcList":[]}`), "")
	f.Add([]byte(`[]`), pack)
	f.Fuzz(func(t *testing.T, event []byte, epc string) {
		canonical, _, why := interchain.Dispense(&supply.StoredEvent{Event: event}, epc)
		if why != "" {
			return
		}
		var e struct {
			Type    string   `json:"type"`
			EPCList []string `json:"epcList"`
		}
		if err := json.Unmarshal(event, &e); err != nil || e.Type != "ObjectEvent" || canonical != supply.CanonicalID(epc) ||
			!slices.ContainsFunc(e.EPCList, func(s string) bool { return supply.CanonicalID(s) == canonical }) {
			t.Fatalf("accepted %s for %q as pack %q", event, epc, canonical)
		}
	})
}
