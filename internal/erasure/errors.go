package erasure

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the erasure codespace.
const Space tx.Codespace = "erasure"

// Codes. Append-only.
const (
	CodeUnauthorized uint32 = 1 // the signer may not erase, hold or lift this
	CodeInvalid      uint32 = 2 // the request is malformed or names nothing
	CodeNotFound     uint32 = 3 // no such record (or hold) for this patient
	CodeErased       uint32 = 4 // already erased
	CodeHeld         uint32 = 5 // a legal hold blocks the erasure
	CodeLifted       uint32 = 6 // the hold was already lifted
	CodeNotDue       uint32 = 7 // no retention policy, or its period has not ended
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeNotFound: tx.NotFound, CodeErased: tx.Gone,
		CodeHeld: tx.Conflict, CodeLifted: tx.Conflict, CodeNotDue: tx.Conflict,
	})
}
