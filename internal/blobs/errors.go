package blobs

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the codespace of refused blob uploads.
const Space tx.Codespace = "blobs"

// Upload refusal codes. Append-only.
const (
	CodeUnsigned      uint32 = 1 // signature headers missing or malformed
	CodeUnknownSigner uint32 = 2 // the named identity is not registered
	CodeBadSignature  uint32 = 3 // the signature does not verify over this upload
	CodeStale         uint32 = 4 // signed too far from the node's clock
	CodeNotAuthor     uint32 = 5 // the identity is inactive or its role writes no records
	CodeDigest        uint32 = 6 // the body does not hash to the digest or has another size
	CodeTooLarge      uint32 = 7 // over records.MaxBlob
	CodeQuota         uint32 = 8 // the identity's unreferenced uploads would pass its quota
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnsigned: tx.Unauthenticated, CodeUnknownSigner: tx.Unauthenticated, CodeBadSignature: tx.Unauthenticated,
		CodeStale: tx.Unauthenticated, CodeNotAuthor: tx.Forbidden, CodeTooLarge: tx.TooLarge, CodeQuota: tx.TooMany,
	})
}
