package access

import (
	"fmt"
	"slices"
	"time"
)

// breakGlass finds the actor's newest declaration for the patient whose window is open and
// which covers category ("" = any, and then opt-outs do not apply), or says why none does.
func breakGlass(f *Facts, category string) Decision {
	why := deny(NoDeclaration, "no emergency declaration by the requester for this patient")
	for i := len(f.Declarations) - 1; i >= 0; i-- {
		d := &f.Declarations[i]
		switch {
		case d.Provider != f.Actor.ID:
			continue
		case f.Time.Before(d.Start) || !f.Time.Before(d.Expiry):
			why = deny(DeclarationExpired, fmt.Sprintf("emergency declaration %s expired at %s", d.ID, d.Expiry.Format(time.RFC3339)))
			continue
		case category != "" && slices.Contains(f.OptOuts, category):
			return deny(OptedOut, fmt.Sprintf("the patient opted category %q out of break-glass", category))
		case category != "" && !slices.Contains(d.Categories, category):
			why = deny(DeclarationScope, fmt.Sprintf("emergency declaration %s does not cover category %q", d.ID, category))
			continue
		}
		ok := allow(BreakGlass, fmt.Sprintf("break-glass under emergency declaration %s (until %s)", d.ID, d.Expiry.Format(time.RFC3339)))
		ok.Emergency = d.ID
		return ok
	}
	return why
}
