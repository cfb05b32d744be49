package consent

import (
	"fmt"
	"slices"
	"time"
)

// Request is one access to decide.
type Request struct {
	Patient      string
	Actor        string
	Organization string // the actor's organization, for organization-wide grants
	Action       string
	Purpose      string
	Target       Target
	Time         time.Time // block time
}

// Decision is the outcome. Its zero value denies.
type Decision struct {
	Allowed bool
	Grant   string // the grant that allowed it, or the one whose deny provision denied it
	Reason  string
}

// Decide evaluates every grant the patient issued. Deny by default: only an active grant that
// names the actor (or the actor's organization), the action, the purpose and covers the
// target allows, and a matching deny provision in any active grant for the actor denies
// regardless of other permits.
func Decide(grants []*Grant, q Request) Decision {
	d := Decision{Reason: "no consent covers this access"}
	if q.Actor == q.Patient && q.Patient != "" {
		return Decision{Allowed: true, Reason: "the patient's own record"}
	}
	var permit *Grant
	var near string
	for _, g := range grants {
		if g.Patient != q.Patient || !(g.Grantee == q.Actor || (g.Organization != "" && g.Organization == q.Organization)) {
			continue
		}
		switch {
		case g.RevokedAt != 0:
			near = fmt.Sprintf("grant %s was revoked at height %d", g.ID, g.RevokedAt)
			continue
		case q.Time.Before(g.Start):
			near = fmt.Sprintf("grant %s starts at %s", g.ID, g.Start.Format(time.RFC3339))
			continue
		case !g.Expiry.IsZero() && !q.Time.Before(g.Expiry):
			near = fmt.Sprintf("grant %s expired at %s", g.ID, g.Expiry.Format(time.RFC3339))
			continue
		}
		for _, dn := range g.Deny {
			if dn.Scope.Covers(q.Target) && (len(dn.Purposes) == 0 || slices.Contains(dn.Purposes, q.Purpose)) {
				return Decision{Grant: g.ID, Reason: fmt.Sprintf("a deny provision of grant %s excludes this access", g.ID)}
			}
		}
		if !slices.Contains(g.Actions, q.Action) {
			near = fmt.Sprintf("grant %s does not permit %s", g.ID, q.Action)
			continue
		}
		if !g.Scope.Covers(q.Target) {
			near = fmt.Sprintf("grant %s does not cover this record's category or type", g.ID)
			continue
		}
		if !slices.Contains(g.Purposes, q.Purpose) {
			near = fmt.Sprintf("grant %s does not permit the purpose %q", g.ID, q.Purpose)
			continue
		}
		if permit == nil {
			permit = g
		}
	}
	if permit != nil {
		return Decision{Allowed: true, Grant: permit.ID, Reason: fmt.Sprintf("allowed by grant %s", permit.ID)}
	}
	if near != "" {
		d.Reason = near
	}
	return d
}
