package records

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the records codespace.
const Space tx.Codespace = "records"

// Codes. Append-only.
const (
	CodeUnauthorized uint32 = 1 // author may not write for this patient
	CodeInvalid      uint32 = 2 // field missing or malformed
	CodeNoPatient    uint32 = 3 // patient not registered or inactive
	CodeVersion      uint32 = 4 // version is not the next one
	CodeDigest       uint32 = 5 // ciphertext digest or size does not match
	CodeKeyVersion   uint32 = 6 // wrapped for a stale key
	CodeNotFound     uint32 = 7
	CodeErased       uint32 = 8 // the record was erased (answered 410 Gone)
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeNoPatient: tx.NotFound, CodeNotFound: tx.NotFound, CodeVersion: tx.Conflict, CodeErased: tx.Gone,
	})
}
