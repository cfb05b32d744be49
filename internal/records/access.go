package records

import (
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
)

// EmergencyFacts reads a patient's emergency declarations (oldest first) and the categories
// they opted out of break-glass. internal/emergency provides it; it imports this package,
// so the caller hands it in. nil: no declarations.
type EmergencyFacts func(r consent.Reader, patient string) (declarations []access.Declaration, optOuts []string)

// AccessFacts gathers from one state what access.Decide needs to judge who's access to
// the patient's records for the purpose at time at, all but the record (see RecordFacts).
// Declarations are read only for the emergency purpose, the only one they decide.
func AccessFacts(r consent.Reader, who *identity.Identity, patient, purpose string, at time.Time, em EmergencyFacts) access.Facts {
	f := access.Facts{Time: at, Patient: access.Patient{ID: patient}, Grants: consent.Facts(consent.List(r, patient))}
	if who != nil {
		f.Actor = access.Actor{ID: who.ID, Role: string(who.Role), Organization: who.Organization, Active: who.Active, Deactivated: who.Deactivated}
	}
	if p := identity.Get(r, patient); p != nil {
		f.Patient.RegisteredBy = p.RegisteredBy
	}
	if purpose == access.Emergency && em != nil {
		f.Declarations, f.OptOuts = em(r, patient)
	}
	return f
}

// RecordFacts is what the access decision needs of a record version; nil for nil.
func RecordFacts(m *Meta) *access.Record {
	if m == nil {
		return nil
	}
	return &access.Record{ID: m.RecordID, Patient: m.Patient, Author: m.Author, Category: m.Category, ResourceType: m.ResourceType}
}

// Readable reports whether the actor of f (AccessFacts) may read record version m for the
// purpose: what a list shows is each record's own read decision.
func Readable(f access.Facts, m *Meta, purpose string) bool {
	f.Record = RecordFacts(m)
	return access.Decide(f, access.Request{Action: access.Read, Purpose: purpose}).Allowed
}

// DecideWrite judges whether author may write the record version m (its client fields:
// id, patient, category, type) for the purpose at time at.
func DecideWrite(r consent.Reader, author *identity.Identity, m *Meta, purpose string, at time.Time, em EmergencyFacts) access.Decision {
	return decideWrite(r, author, m, purpose, at, em, true)
}

// decideWrite is DecideWrite; mayBeErased is false when the record cannot have a tombstone
// (it has no head, or its head entry points at a record entry: values.go), which is then
// not looked up.
func decideWrite(r consent.Reader, author *identity.Identity, m *Meta, purpose string, at time.Time, em EmergencyFacts, mayBeErased bool) access.Decision {
	f := AccessFacts(r, author, m.Patient, purpose, at, em)
	f.Record = &access.Record{ID: m.RecordID, Patient: m.Patient, Author: author.ID, Category: m.Category, ResourceType: m.ResourceType}
	if !mayBeErased {
		return access.Decide(f, access.Request{Action: access.Write, Purpose: purpose})
	}
	if t := Erased(indexed(r), m.RecordID); t != nil {
		f.Record.Patient, f.Record.ErasedAt = t.Patient, t.Height
	}
	return access.Decide(f, access.Request{Action: access.Write, Purpose: purpose})
}
