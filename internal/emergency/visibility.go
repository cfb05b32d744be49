package emergency

import (
	"slices"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// Who may see break-glass use. A declaration says which provider opened which patient's
// records, when and why: a care relationship and, in its reason, health information. It is
// shown only to those who take part in it and to those who oversee it:
//   - the patient: everything of their own (opt-outs, escrows, every declaration);
//   - the declaring provider: its own declarations, with the escrows their releases open;
//   - a custodian (an active escrow custodian named in the patient's escrow of a declared
//     category): the declarations that ask for its share, without the reason, justification
//     and review, which it does not need to re-seal the share;
//   - an auditor: everything.
//
// Anyone else sees nothing. The rule is pure: the caller passes the stored facts.

// Viewer is a signed requester as the rule needs it.
type Viewer struct {
	Who       *identity.Identity
	Custodian *Custodian // Who's custodian enrolment, nil if it has none
}

func (v Viewer) active() bool { return v.Who != nil && v.Who.Active }

func (v Viewer) auditor() bool { return v.active() && v.Who.Role == identity.Auditor }

// custodian reports whether v is an enrolled, unretired escrow custodian.
func (v Viewer) custodian() bool {
	return v.active() && v.Custodian != nil && v.Custodian.Active && v.Custodian.ID == v.Who.ID
}

// MayList reports whether v may ask for declarations at all: each patient, provider and
// custodian sees its own part of them, auditors all. The registrar and insurers take no
// part in break-glass and are refused.
func (v Viewer) MayList() bool {
	return v.active() && (v.Who.Role == identity.Patient || v.Who.Role == identity.Provider || v.auditor() || v.custodian())
}

// ShowDeclaration is declaration d with the escrows its releases open (escrows: all of
// the patient's), as v may see them. ok is false when v may see nothing of it.
func ShowDeclaration(v Viewer, d *Declaration, escrows []*Escrow) (shown *Declaration, covered []*Escrow, ok bool) {
	covered = []*Escrow{}
	for _, e := range escrows {
		if e.Patient == d.Patient && slices.Contains(d.Categories, e.Category) {
			covered = append(covered, e)
		}
	}
	switch {
	case !v.active():
		return nil, nil, false
	case v.Who.ID == d.Patient, v.Who.ID == d.Provider, v.auditor():
		return d, covered, true
	case !v.custodian():
		return nil, nil, false
	}
	mine := []*Escrow{}
	for _, e := range covered {
		if holds(e, v.Who.ID) {
			mine = append(mine, e)
		}
	}
	if len(mine) == 0 {
		return nil, nil, false
	}
	cp := *d
	cp.Reason, cp.Justification, cp.Review = "", nil, nil
	return &cp, mine, true
}

// PatientState is a patient's break-glass state.
type PatientState struct {
	Visible      []string
	OptedOut     []string
	Escrows      []*Escrow
	Declarations []*Declaration
}

// LoadPatient gathers a patient's break-glass state.
func LoadPatient(r Reader, patient string) PatientState {
	return PatientState{Visible: Visible(r, patient), OptedOut: OptedOut(r, patient),
		Escrows: Escrows(r, patient), Declarations: Declarations(r, patient)}
}

// ShowPatient is the part of patient's state s that v may see: all of it for the patient
// and auditors; for a provider, its own declarations; for a custodian, the declarations
// that ask for its shares and the escrows that hold them. ok is false for anyone else
// (another patient, the registrar, an insurer). Empty lists are never nil.
func ShowPatient(v Viewer, patient string, s PatientState) (out PatientState, ok bool) {
	out = PatientState{Visible: []string{}, OptedOut: []string{}, Escrows: []*Escrow{}, Declarations: []*Declaration{}}
	switch {
	case !v.active():
		return out, false
	case v.Who.ID == patient, v.auditor():
		out.Visible = append(out.Visible, s.Visible...)
		out.OptedOut = append(out.OptedOut, s.OptedOut...)
		out.Escrows = append(out.Escrows, s.Escrows...)
		out.Declarations = append(out.Declarations, s.Declarations...)
		return out, true
	case v.Who.Role != identity.Provider && !v.custodian():
		return out, false
	}
	for _, d := range s.Declarations {
		if d.Patient != patient {
			continue
		}
		if shown, _, ok := ShowDeclaration(v, d, s.Escrows); ok {
			out.Declarations = append(out.Declarations, shown)
		}
	}
	if v.custodian() {
		for _, e := range s.Escrows {
			if e.Patient == patient && holds(e, v.Who.ID) {
				out.Escrows = append(out.Escrows, e)
			}
		}
	}
	return out, true
}

// holds reports whether custodian id holds a share of e.
func holds(e *Escrow, id string) bool {
	return slices.ContainsFunc(e.Shares, func(s EscrowShare) bool { return s.Custodian == id })
}
