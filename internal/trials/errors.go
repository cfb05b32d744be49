package trials

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the trials codespace.
const Space tx.Codespace = "trials"

// Codes. Append-only.
const (
	CodeUnauthorized  uint32 = 1 // the signer's role or relation to the trial may not do this
	CodeInvalid       uint32 = 2 // a field is missing or malformed
	CodeNotRegistered uint32 = 3 // no trial with this id is registered (e.g. enrolment before registration)
	CodeNotFound      uint32 = 4 // no such identity, protocol version or site
	CodeDuplicate     uint32 = 5 // the trial id is taken, or the participant is already enrolled
	CodeNotApproved   uint32 = 6 // the protocol version in force has no IRB approval
	CodeState         uint32 = 7 // not allowed now (a superseded version, an amendment that changes nothing)
	CodeMeaning       uint32 = 8 // the signature's meaning does not fit the act
	// E-consent and data capture.
	CodeNoConsentForm     uint32 = 9  // the trial has no IRB-approved consent form, or not this version
	CodeStaleConsent      uint32 = 10 // the participant signed a consent form that is not the newest (re-consent first)
	CodeNoResearchConsent uint32 = 11 // no active research grant from the participant covers this (revoked, expired, out of scope)
	CodeWithdrawn         uint32 = 12 // the participant withdrew from the trial
	CodeNotEnrolled       uint32 = 13 // the patient is not enrolled in the trial
	CodeCategory          uint32 = 14 // a category the protocol does not collect or the consent form does not name
	CodeDataset           uint32 = 15 // an export's digest or counts do not match the dataset the sponsor may read
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeNotRegistered: tx.NotFound, CodeNotFound: tx.NotFound,
		CodeDuplicate: tx.Conflict, CodeNotApproved: tx.Conflict, CodeState: tx.Conflict,
		CodeNoConsentForm: tx.Conflict, CodeStaleConsent: tx.Conflict, CodeNoResearchConsent: tx.Forbidden,
		CodeWithdrawn: tx.Conflict, CodeNotEnrolled: tx.NotFound, CodeDataset: tx.Conflict,
	})
}
