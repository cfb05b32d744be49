package access

import (
	"fmt"
	"slices"
)

// purposes lists the purposes of use the rules know.
var purposes = []string{Treatment, Payment, Operations, Research, Emergency}

// Decide applies the rules (see the package documentation) to one request.
func Decide(f Facts, q Request) Decision {
	if !f.Actor.Active {
		return deny(Inactive, fmt.Sprintf("requester was deactivated at height %d", f.Actor.Deactivated))
	}
	if !slices.Contains(purposes, q.Purpose) {
		return deny(BadRequest, fmt.Sprintf("unknown purpose of use %q", q.Purpose))
	}
	switch q.Action {
	case Read:
		return decideRead(&f, q.Purpose)
	case List:
		return decideList(&f, q.Purpose)
	case Write:
		return decideWrite(&f, q.Purpose)
	}
	return deny(BadRequest, fmt.Sprintf("unknown action %q", q.Action))
}

func (f *Facts) self() bool { return f.Patient.ID != "" && f.Actor.ID == f.Patient.ID }

func decideRead(f *Facts, purpose string) Decision {
	r := f.Record
	switch {
	case r == nil:
		return deny(NoRecord, "no such record")
	case r.Patient != f.Patient.ID:
		return deny(OtherPatient, "no such record for this patient")
	case r.ErasedAt != 0:
		return deny(Erased, fmt.Sprintf("the record was erased at height %d", r.ErasedAt))
	case f.self():
		return allow(Self, "the patient's own record")
	case r.Author != "" && f.Actor.ID == r.Author && (purpose == Treatment || purpose == Payment || purpose == Operations):
		return allow(Author, "the author of the record")
	}
	d := byGrants(f, f.Grants, Read, purpose, r.target())
	if d.Allowed || purpose != Emergency {
		return d
	}
	return glassRead(f, r.Category, d.Grant)
}

func decideList(f *Facts, purpose string) Decision {
	if f.self() {
		return allow(Self, "the patient's own records")
	}
	// Listing is allowed if some grant, on its own, lets the actor read for this purpose;
	// what the list then shows is each record's own read decision.
	for i := range f.Grants {
		if d := byGrants(f, f.Grants[i:i+1], Read, purpose, anyTarget(&f.Grants[i])); d.Allowed {
			return d
		}
	}
	if purpose == Emergency {
		return glassRead(f, "", "")
	}
	return deny(NoList, "no consent lets the requester list this patient's records for this purpose")
}

func decideWrite(f *Facts, purpose string) Decision {
	r := f.Record
	switch {
	case r == nil:
		return deny(NoRecord, "no record to write")
	case r.Patient != f.Patient.ID:
		return deny(OtherPatient, "the record belongs to another patient")
	case r.ErasedAt != 0:
		return deny(Erased, fmt.Sprintf("the record was erased at height %d; its id cannot be written again", r.ErasedAt))
	case purpose == Emergency && f.Actor.Role != ProviderRole:
		return deny(NotProvider, "only providers write under an emergency declaration")
	case purpose == Emergency:
		d := breakGlass(f, "")
		if d.Allowed {
			d.Reason = "emergency declaration " + d.Emergency
		}
		return d
	case f.self():
		return allow(Self, "the patient's own record")
	case f.Actor.Role != ProviderRole:
		return deny(NotProvider, "only providers write records for patients")
	case purpose == Treatment && f.Patient.RegisteredBy != "" && f.Patient.RegisteredBy == f.Actor.ID:
		return allow(Care, "care relationship: the provider registered the patient")
	}
	return byGrants(f, f.Grants, Write, purpose, r.target())
}

// glassRead is break-glass for a read or a list no grant allows; a denial keeps the grant
// whose deny provision excluded the access.
func glassRead(f *Facts, category, grant string) Decision {
	d := breakGlass(f, category)
	if !d.Allowed {
		d.Reason, d.Grant = "break-glass denied: "+d.Reason, grant
	}
	return d
}

// anyTarget is a target inside the grant's scope, to ask whether listing is permitted at all.
func anyTarget(g *Grant) Target {
	var t Target
	if len(g.Scope.Categories) > 0 {
		t.Category = g.Scope.Categories[0]
	}
	if len(g.Scope.ResourceTypes) > 0 {
		t.ResourceType = g.Scope.ResourceTypes[0]
	}
	if len(g.Scope.Records) > 0 {
		t.Record = g.Scope.Records[0]
	}
	return t
}
