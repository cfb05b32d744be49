package claims

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the claims codespace.
const Space tx.Codespace = "claims"

// Codes. Append-only.
const (
	CodeUnauthorized uint32 = 1  // the signer's role or relation may not do this
	CodeInvalid      uint32 = 2  // a field is missing or malformed
	CodeNotFound     uint32 = 3  // no such plan, coverage, claim, prior authorization or identity
	CodeNotAuthor    uint32 = 4  // the claim's encounter record was not written by the submitter
	CodeEncounter    uint32 = 5  // the encounter reference does not match a stored record
	CodeNoConsent    uint32 = 6  // the patient has not consented to the insurer receiving the claim
	CodeDuplicate    uint32 = 7  // the same claim was already submitted
	CodeOverlap      uint32 = 8  // coverage periods with one insurer overlap
	CodePlanVersion  uint32 = 9  // a plan version would change rules retroactively
	CodeState        uint32 = 10 // not allowed in the current state (already decided, paid, appealed)
	CodeAmount       uint32 = 11 // a payment or appeal amount is out of range
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeNotAuthor: tx.Forbidden, CodeNoConsent: tx.Forbidden,
		CodeNotFound: tx.NotFound, CodeDuplicate: tx.Conflict, CodeOverlap: tx.Conflict, CodeState: tx.Conflict,
	})
}
