package identity

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the identity codespace.
const Space tx.Codespace = "identity"

// Codes. Append-only.
const (
	CodeUnauthorized  uint32 = 1 // signer's role may not do this
	CodeExists        uint32 = 2 // identity already registered
	CodeNotFound      uint32 = 3 // no such identity
	CodeInvalid       uint32 = 4 // a field is missing or malformed
	CodeInactive      uint32 = 5 // already deactivated
	CodeProof         uint32 = 6 // proof of possession missing or wrong
	CodeMalformedBody uint32 = 7 // body cannot be decoded
	CodeRegistrarSelf uint32 = 8 // registrar cannot deactivate itself
	CodeKeyUnchanged  uint32 = 9 // rotation to the same key
	CodeKeyInUse      uint32 = 10
	CodePatientName   uint32 = 11 // a patient registration carries a name (PHI); patients are pseudonymous
	CodeUnsigned      uint32 = 12 // a query that reveals who may read whom is not signed
	CodeBadQuery      uint32 = 13 // a signed query's time or signature does not check
	CodeNotEntitled   uint32 = 14 // the requester may not see what it asked for
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeRegistrarSelf: tx.Forbidden, CodeNotEntitled: tx.Forbidden,
		CodeUnsigned: tx.Unauthenticated, CodeBadQuery: tx.Unauthenticated,
		CodeExists: tx.Conflict, CodeInactive: tx.Conflict, CodeKeyUnchanged: tx.Conflict,
		CodeNotFound: tx.NotFound,
	})
}
