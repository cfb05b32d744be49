package access

import (
	"fmt"
	"slices"
	"time"
)

// byGrants evaluates the patient's grants for the actor. Only an active grant that names
// the actor (or a provider's organization), the action, the purpose and covers the target
// allows; a matching deny provision in any active grant for the actor denies regardless of
// other permits. A denial says how near the nearest grant came.
func byGrants(f *Facts, grants []Grant, action, purpose string, t Target) Decision {
	org := ""
	if f.Actor.Role == ProviderRole {
		org = f.Actor.Organization
	}
	near := deny(NoConsent, "no consent covers this access")
	var permit *Grant
	for i := range grants {
		g := &grants[i]
		if g.Patient != f.Patient.ID || !((g.Grantee != "" && g.Grantee == f.Actor.ID) || (g.Organization != "" && g.Organization == org)) {
			continue
		}
		switch {
		case g.RevokedAt != 0:
			near = deny(Revoked, fmt.Sprintf("grant %s was revoked at height %d", g.ID, g.RevokedAt))
			continue
		case f.Time.Before(g.Start):
			near = deny(NotStarted, fmt.Sprintf("grant %s starts at %s", g.ID, g.Start.Format(time.RFC3339)))
			continue
		case !g.Expiry.IsZero() && !f.Time.Before(g.Expiry):
			near = deny(Expired, fmt.Sprintf("grant %s expired at %s", g.ID, g.Expiry.Format(time.RFC3339)))
			continue
		}
		for _, dn := range g.Deny {
			if dn.Scope.Covers(t) && (len(dn.Purposes) == 0 || slices.Contains(dn.Purposes, purpose)) {
				d := deny(DenyProvision, fmt.Sprintf("a deny provision of grant %s excludes this access", g.ID))
				d.Grant = g.ID
				return d
			}
		}
		switch {
		case !slices.Contains(g.Actions, action):
			near = deny(WrongAction, fmt.Sprintf("grant %s does not permit %s", g.ID, action))
			continue
		case !g.Scope.Covers(t):
			near = deny(OutOfScope, fmt.Sprintf("grant %s does not cover this record's category or type", g.ID))
			continue
		case !slices.Contains(g.Purposes, purpose):
			near = deny(WrongPurpose, fmt.Sprintf("grant %s does not permit the purpose %q", g.ID, purpose))
			continue
		}
		if permit == nil {
			permit = g
		}
	}
	if permit == nil {
		return near
	}
	d := allow(Granted, fmt.Sprintf("allowed by grant %s", permit.ID))
	d.Grant = permit.ID
	return d
}
