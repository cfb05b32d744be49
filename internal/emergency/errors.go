package emergency

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the emergency codespace.
const Space tx.Codespace = "emergency"

// Codes. Append-only.
const (
	CodeUnauthorized uint32 = 1 // this role or identity may not do this
	CodeInvalid      uint32 = 2 // a field is missing or malformed
	CodeNotFound     uint32 = 3 // no such declaration, custodian or escrow
	CodeOptedOut     uint32 = 4 // the patient opted this category out of break-glass
	CodeWindow       uint32 = 5 // the emergency window is over (or the declaration is not active)
	CodeDuplicate    uint32 = 6 // already released, justified or reviewed
	CodeKeyVersion   uint32 = 7 // escrow is not for the current category key
	CodeNotJustified uint32 = 8 // a review needs the provider's justification first
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeOptedOut: tx.Forbidden, CodeWindow: tx.Forbidden,
		CodeNotFound: tx.NotFound, CodeDuplicate: tx.Conflict, CodeKeyVersion: tx.Conflict, CodeNotJustified: tx.Conflict,
	})
}
