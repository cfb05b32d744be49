package consent

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the consent codespace.
const Space tx.Codespace = "consent"

// Codes. Append-only.
const (
	CodeUnauthorized uint32 = 1 // only the patient may do this
	CodeInvalid      uint32 = 2 // a field is missing or malformed
	CodeNotFound     uint32 = 3 // no such grant or grantee
	CodeRevoked      uint32 = 4 // grant already revoked
	CodeKeyVersion   uint32 = 5 // category key version is not the next one / not current
	CodeMissingShare uint32 = 6 // a read grant lacks the category key share for its grantee
	CodeNoRotation   uint32 = 7 // revocation does not rotate a shared category key
	CodeNoCategory   uint32 = 8 // the patient has no key for this category
	CodeDenied       uint32 = 9 // an access was decided and denied (and recorded)
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeDenied: tx.Forbidden, CodeNotFound: tx.NotFound, CodeRevoked: tx.Conflict,
	})
}
