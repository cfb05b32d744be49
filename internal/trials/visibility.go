package trials

import (
	"slices"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// EnrolmentsVisible says which of a trial's enrolments (they name participants, their
// consents and withdrawals) requester who may see: all of them for the sponsor, the IRB,
// any auditor (the regulator) and the investigators of the protocol version in force v;
// only their own for a patient (own is then who's id); none for anyone else (ok false).
func EnrolmentsVisible(t *Trial, v *Version, who *identity.Identity) (all bool, own string, ok bool) {
	switch {
	case who == nil || !who.Active:
		return false, "", false
	case who.ID == t.Sponsor || who.ID == t.IRB || who.Role == identity.Auditor:
		return true, "", true
	case who.Role == identity.Provider && v != nil && slices.ContainsFunc(v.Sites, func(s Site) bool { return s.Investigator == who.ID }):
		return true, "", true
	case who.Role == identity.Patient:
		return false, who.ID, true
	}
	return false, "", false
}

// SubjectView is what a requester sees of a trial's participants as FHIR ResearchSubjects.
type SubjectView struct {
	All bool   // every enrolment of the trial (else only Own's)
	Own string // a patient's own identity id
	// Identified: individual references name the participant. The sponsor and the site
	// investigators see participants by their dataset code only, the IRB and any auditor
	// (the regulator) and the participant themself by identity.
	Identified bool
}

// SubjectsVisible decides a trial's ResearchSubjects for who, from the same rule as
// EnrolmentsVisible (ok false: none); who sees participants by identity is narrower.
func SubjectsVisible(t *Trial, v *Version, who *identity.Identity) (SubjectView, bool) {
	all, own, ok := EnrolmentsVisible(t, v, who)
	if !ok {
		return SubjectView{}, false
	}
	return SubjectView{All: all, Own: own, Identified: own != "" || who.Role == identity.Auditor}, true
}
