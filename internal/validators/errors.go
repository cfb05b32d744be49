package validators

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the validator codespace.
const Space tx.Codespace = "validator"

// Codes. Append-only.
const (
	CodeUnauthorized uint32 = 1 // only the registrar changes the validator set
	CodeInvalid      uint32 = 2 // a field is missing or malformed
	CodeNotFound     uint32 = 3 // no active validator with that address
	CodeLastOne      uint32 = 4 // the set would become empty
	CodeTooMany      uint32 = 5 // the set would exceed MaxValidators
	CodeUnchanged    uint32 = 6 // the update changes nothing
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeNotFound: tx.NotFound,
		CodeLastOne: tx.Conflict, CodeTooMany: tx.Conflict, CodeUnchanged: tx.Conflict,
	})
}
