package trials

// BlockTimeProof proves the block time a report was judged at. The app hash does not
// cover time, but block headers do: the header of block H holds its time, and the header
// of block H+1 holds the hash of block H (its last block id) and the app hash of the state
// at H, the state the report's facts were read from. Anyone who trusts the hash of block
// H+1 (from a validator, a checkpoint, another node) can check both offline.
type BlockTimeProof struct {
	Header []byte `json:"header"` // block H, canonical protobuf
	Next   []byte `json:"next"`   // block H+1, canonical protobuf
}

// The headers are decoded and checked by internal/trials/timeproof, which needs CometBFT's
// types: trials is imported by clients, which build without consensus code.
