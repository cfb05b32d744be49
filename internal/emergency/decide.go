package emergency

import (
	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/consent"
)

// Facts is what the access decision needs of the patient's emergency state: their
// declarations, oldest first, and the categories they opted out of break-glass
// (records.EmergencyFacts).
func Facts(r consent.Reader, patient string) ([]access.Declaration, []string) {
	ds := Declarations(r, patient)
	out := make([]access.Declaration, len(ds))
	for i, d := range ds {
		out[i] = access.Declaration{ID: d.ID, Provider: d.Provider, Categories: d.Categories, Start: d.Start, Expiry: d.Expiry}
	}
	return out, OptedOut(r, patient)
}
