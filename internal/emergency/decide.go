package emergency

import (
	"fmt"
	"slices"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/consent"
)

// active finds the actor's declaration for the patient whose window is open at block time
// at and which covers category ("" = any). Otherwise it says why none does.
func active(r Reader, actor, patient, category string, at time.Time) (*Declaration, string) {
	reason := "no emergency declaration by the requester for this patient"
	ds := Declarations(r, patient)
	out := OptedOut(r, patient)
	for i := len(ds) - 1; i >= 0; i-- { // newest first
		d := ds[i]
		switch {
		case d.Provider != actor:
			continue
		case !d.Active(at):
			reason = fmt.Sprintf("emergency declaration %s expired at %s", d.ID, d.Expiry.Format(time.RFC3339))
			continue
		case category != "" && slices.Contains(out, category):
			return nil, fmt.Sprintf("the patient opted category %q out of break-glass", category)
		case category != "" && !slices.Contains(d.Categories, category):
			reason = fmt.Sprintf("emergency declaration %s does not cover category %q", d.ID, category)
			continue
		}
		return d, ""
	}
	return nil, reason
}

// BreakGlass decides an emergency-purpose access that no grant allows (records.BreakGlass):
// allowed only under the actor's own declaration, inside its window, for a category it
// covers that is still emergency-visible. Deny by default.
func BreakGlass(r consent.Reader, actor, patient, category string, at time.Time) (consent.Decision, string) {
	d, reason := active(r, actor, patient, category, at)
	if d == nil {
		return consent.Decision{Reason: reason}, ""
	}
	return consent.Decision{Allowed: true, Reason: fmt.Sprintf("break-glass under emergency declaration %s (until %s)",
		d.ID, d.Expiry.Format(time.RFC3339))}, d.ID
}

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
