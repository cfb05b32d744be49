package interchain

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the interchain codespace.
const Space tx.Codespace = "interchain"

// Codes. Append-only.
const (
	CodeUnauthorized uint32 = 1  // only the registrar creates a client
	CodeInvalid      uint32 = 2  // a field, the header or a validator set is malformed or inconsistent
	CodeExists       uint32 = 3  // the client id is taken, or the header was already verified
	CodeNotFound     uint32 = 4  // no such client
	CodeFrozen       uint32 = 5  // the client was frozen by misbehaviour
	CodeWrongChain   uint32 = 6  // the header is from another chain than the client follows
	CodeExpired      uint32 = 7  // the trusted header is outside the trusting period (by our block time)
	CodeNotTrusted   uint32 = 8  // less than the trust level of the trusted validator power signed
	CodeBadCommit    uint32 = 9  // the commit does not verify: forged, or under 2/3 of the header's validators
	CodeUnverified   uint32 = 10 // the client never verified a header at that height
	CodeProof        uint32 = 11 // a cross-chain proof does not verify against the verified app hash
	CodeNoConflict   uint32 = 12 // a misbehaviour report whose headers do not conflict
	CodeFuture       uint32 = 13 // the header's time is beyond our block time plus the allowed drift
	CodeNotDispense  uint32 = 14 // the proven supply event is not a dispense of the cited pack
	CodeNoRecord     uint32 = 15 // the cited record does not exist, or is not a MedicationDispense
	CodeNotAuthor    uint32 = 16 // the cited record is not the signer's
	CodeWrongRole    uint32 = 17 // the proven identity is not a provider
	CodeKeyConflict  uint32 = 18 // the id is registered on this chain itself, with other keys or as its own
	CodeStale        uint32 = 19 // the proof is not newer than the one the recognition already holds
	CodeNotAdmitted  uint32 = 20 // the registrar has not admitted the client's chain as a home of providers
	CodeRevoked      uint32 = 21 // the provider is deactivated (on its home chain or here)
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden,
		CodeNotFound:     tx.NotFound, CodeUnverified: tx.NotFound,
		CodeExists: tx.Conflict, CodeFrozen: tx.Conflict,
		CodeExpired: tx.Unprocessable, CodeNotTrusted: tx.Unprocessable, CodeBadCommit: tx.Unprocessable,
		CodeProof: tx.Unprocessable, CodeNoConflict: tx.Unprocessable, CodeFuture: tx.Unprocessable,
		CodeNotDispense: tx.Unprocessable, CodeNoRecord: tx.NotFound, CodeNotAuthor: tx.Forbidden,
		CodeWrongRole: tx.Unprocessable, CodeKeyConflict: tx.Conflict, CodeStale: tx.Conflict,
		CodeNotAdmitted: tx.Forbidden, CodeRevoked: tx.Conflict,
	})
}
