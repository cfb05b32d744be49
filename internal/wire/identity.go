package wire

import "github.com/ehrchain/ehrchain/internal/identity"

// IdentityResponse is an identity with its account sequence and, on request, a proof.
type IdentityResponse struct {
	Identity     *identity.Identity `json:"identity"`
	NextSequence uint64             `json:"next_sequence"`
	Height       int64              `json:"height"`
	Proof        *Proof             `json:"proof,omitempty"`
	Value        []byte             `json:"value,omitempty"` // the exact proven state value
}

// Proof proves one state value at a height: the ICS-23 proof of the key in the state map,
// the map and log roots, and the app hash they combine into. It has state.Proof's fields,
// so the two convert ((*state.Proof)(p) to verify it; the API's conversion stops compiling
// if they drift), and lives here so a client decodes it without importing the store.
type Proof struct {
	Height  int64  `json:"height"`
	Map     []byte `json:"map"` // ICS-23 CommitmentProof, protobuf-encoded
	MapRoot []byte `json:"map_root"`
	LogRoot []byte `json:"log_root"`
	LogSize uint64 `json:"log_size"`
	AppHash []byte `json:"app_hash"`
}
