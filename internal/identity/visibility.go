package identity

// Who may see whom. A patient's existence and sponsor reveal a care relationship, which is
// health information; institutions' identities are public.

// SeesAll reports whether a requester may list every identity: the registrar, who creates
// them, and auditors, who oversee them.
func SeesAll(r *Identity) bool {
	return r != nil && r.Active && (r.Role == Registrar || r.Role == Auditor)
}

// Sees reports whether requester r may see subject s in a listing. cares reports whether s
// (a patient) gave r a grant; it is asked only when needed.
func Sees(r, s *Identity, cares func(patient string) bool) bool {
	switch {
	case s.Role != Patient, SeesAll(r):
		return true
	case r == nil || !r.Active:
		return false
	case r.ID == s.ID, r.ID == s.RegisteredBy:
		return true
	}
	return (r.Role == Provider || r.Role == Insurer) && cares(s.ID)
}

// Public is what anyone may learn of an identity by its id: everything but, for a patient,
// who registered them (the keys stay public so that anyone can encrypt for them).
func Public(s *Identity) *Identity {
	if s.Role != Patient {
		return s
	}
	cp := *s
	cp.RegisteredBy = ""
	return &cp
}
