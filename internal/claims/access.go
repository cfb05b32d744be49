package claims

import (
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
)

// insurerReceives asks access.Decide whether the patient lets the insurer receive a claim
// or prior authorization request (id, in the record category) for payment: the insurer
// reads it as a Claim resource of the patient.
func insurerReceives(r consent.Reader, insurer *identity.Identity, patient, id, category string, at time.Time) access.Decision {
	f := records.AccessFacts(r, insurer, patient, access.Payment, at, nil)
	f.Record = &access.Record{ID: id, Patient: patient, Category: category, ResourceType: ClaimResourceType}
	return access.Decide(f, access.Request{Action: access.Read, Purpose: access.Payment})
}
