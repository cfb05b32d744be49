// Package audit is the vocabulary of the ledger's append-only log: the events every state
// change and every access leaves there (actions, outcomes, their leaf encoding), and the
// signed, role-checked queries that read them back over an index kept outside consensus.
// Events name who did what to whom and why; they never hold clinical content. Every domain
// handler imports it, so it stays small: what an auditor makes of the events (reports,
// anomaly rules, HTML and FHIR exports) lives in internal/auditreport.
package audit

import (
	"encoding/json"
	"time"
)

// Outcomes.
const (
	Success = "success"
	Denied  = "denied"
)

// Actions recorded on the ledger.
const (
	IdentityRegister   = "identity.register"
	IdentityDeactivate = "identity.deactivate"
	IdentityRotate     = "identity.rotate"
	KeysPublish        = "keys.publish"
	ConsentGrant       = "consent.grant"
	ConsentRevoke      = "consent.revoke"
	RecordWrite        = "record.write"
	RecordAmend        = "record.amend"
	RecordRead         = "record.read"
	RecordList         = "record.list"

	// Erasure (internal/erasure): the events stay when the record's ciphertext and keys go.
	RecordErase  = "record.erase"  // a record's ciphertext and wrapped keys were dropped
	KeysErase    = "keys.erase"    // a category key's published versions and shares were dropped
	HoldPlace    = "hold.place"    // a legal hold blocks erasure
	HoldLift     = "hold.lift"     // a legal hold was lifted
	RetentionSet = "retention.set" // the registrar set the retention period
	RecordExpire = "record.expire" // a record reached the end of its retention period

	TrialRegister = "trial.register" // a sponsor registered a trial (protocol version 1)
	TrialIRB      = "trial.irb"      // the ethics committee approved or reviewed a version
	TrialAmend    = "trial.amend"    // a new protocol version (flagged if the primary outcomes switched)
	TrialEnrol    = "trial.enrol"    // a participant was enrolled
	TrialResults  = "trial.results"  // results posted, with their discrepancies
	// E-consent and data capture.
	TrialConsentForm = "trial.consent_form" // the IRB approved a consent-form version
	TrialReconsent   = "trial.reconsent"    // a participant signed the newest consent form
	TrialWithdraw    = "trial.withdraw"     // a participant withdrew: no further data is recorded or used
	TrialRecord      = "trial.record"       // an investigator recorded a trial observation
	TrialExport      = "trial.export"       // the sponsor exported the pseudonymised dataset (with its digest)

	// Insurance claims (internal/claims).
	PlanPublish       = "plan.publish"
	CoverageEnroll    = "coverage.enroll"
	CoverageEnd       = "coverage.end"
	ClaimSubmit       = "claim.submit"
	ClaimAdjudicate   = "claim.adjudicate"
	ClaimPay          = "claim.pay"
	ClaimAppeal       = "claim.appeal"
	ClaimAppealDecide = "claim.appeal-decide"
	PriorAuthRequest  = "priorauth.request"
	PriorAuthDecide   = "priorauth.decide"

	// Drug supply chain (internal/supply).
	PartnerBind  = "partner.bind"  // the registrar bound company prefixes or GLNs to a trading partner
	EPCISCapture = "epcis.capture" // a trading partner captured an EPCIS document
	EPCISRelease = "epcis.release" // a regulator released quarantined items

	// Validator set changes (internal/validators).
	ValidatorSet    = "validator.set"
	ValidatorRemove = "validator.remove"
)

// Event is one audit log entry.
type Event struct {
	Index        uint64    `json:"index,omitempty"` // position in the log; set when read, never encoded
	Kind         string    `json:"kind"`            // always "event"
	Height       int64     `json:"height"`
	Time         time.Time `json:"time"`
	Tx           string    `json:"tx,omitempty"`
	Action       string    `json:"action"`
	Outcome      string    `json:"outcome"`
	Actor        string    `json:"actor"`
	ActorRole    string    `json:"actor_role,omitempty"`
	Organization string    `json:"organization,omitempty"`
	Subject      string    `json:"subject,omitempty"`
	Patient      string    `json:"patient,omitempty"`
	Record       string    `json:"record,omitempty"`
	Version      uint32    `json:"version,omitempty"`
	Category     string    `json:"category,omitempty"`
	ResourceType string    `json:"resource_type,omitempty"`
	Digest       string    `json:"digest,omitempty"` // SHA-256 of the record metadata written
	Purpose      string    `json:"purpose,omitempty"`
	Grant        string    `json:"grant,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Rule         string    `json:"rule,omitempty"`      // the access rule that decided a read, list or write (access.Code)
	Claim        string    `json:"claim,omitempty"`     // claim or prior authorization id (internal/claims)
	Emergency    string    `json:"emergency,omitempty"` // emergency (break-glass) declaration id
}

// Encode is the leaf bytes of an event: its encoding/json encoding (encodeFast writes the
// same bytes for plain events). Struct field order makes it deterministic.
func (e *Event) Encode() []byte {
	e.Kind, e.Index = "event", 0
	e.Time = e.Time.UTC()
	if b, ok := encodeFast(make([]byte, 0, 512), e); ok {
		return b
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	return b
}

// Decode parses an event leaf (Index is left for the caller to set): the leaves Encode
// writes without reflection (decodeFast), any other JSON with encoding/json.
func Decode(b []byte) (*Event, error) {
	var e Event
	if decodeFast(b, &e) {
		return &e, nil
	}
	e = Event{}
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	return &e, nil
}
