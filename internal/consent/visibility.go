package consent

import "github.com/ehrchain/ehrchain/internal/identity"

// Visible is the part of a patient's grants requester r may see: all of them for the
// patient and for auditors; for a provider or insurer, those that name it (or its
// organization). ok is false for anyone else.
func Visible(r *identity.Identity, patient string, gs []*Grant) (out []*Grant, ok bool) {
	switch {
	case r == nil || !r.Active:
		return nil, false
	case r.ID == patient, r.Role == identity.Auditor:
		return gs, true
	case r.Role != identity.Provider && r.Role != identity.Insurer:
		return nil, false
	}
	out = []*Grant{}
	for _, g := range gs {
		if Names(g, r) {
			out = append(out, g)
		}
	}
	return out, true
}

// Names reports whether grant g is to r: to r itself, or to every provider of its
// organization.
func Names(g *Grant, r *identity.Identity) bool {
	return g.Grantee == r.ID || (g.Grantee == "" && g.Organization != "" && g.Organization == r.Organization && r.Role == identity.Provider)
}
