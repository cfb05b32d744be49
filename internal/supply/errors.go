package supply

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the supply-chain codespace.
const Space tx.Codespace = "supply"

// Codes. Append-only.
const (
	CodeUnauthorized   uint32 = 1  // the signer's role may not do this
	CodeInvalid        uint32 = 2  // a field, the document or one of its events is malformed
	CodeNotFound       uint32 = 3  // no such identity or event
	CodeNotPartner     uint32 = 4  // the identity is not a trading partner, or is inactive
	CodePrefixTaken    uint32 = 5  // the company prefix overlaps one bound to another partner
	CodeGLNTaken       uint32 = 6  // the GLN is bound to another partner
	CodeNotBound       uint32 = 7  // the capturing partner has no binding (no prefixes, no locations)
	CodeNotOwner       uint32 = 8  // (no longer returned: a commission outside the own prefixes is a suspect event)
	CodeNotCapturer    uint32 = 9  // declaring erroneous an event another partner captured
	CodeNotQuarantined uint32 = 10 // releasing an item that is not quarantined
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeNotOwner: tx.Forbidden, CodeNotBound: tx.Forbidden,
		CodeNotCapturer: tx.Forbidden, CodeNotQuarantined: tx.Conflict,
		CodeNotFound:    tx.NotFound,
		CodePrefixTaken: tx.Conflict, CodeGLNTaken: tx.Conflict,
	})
}
