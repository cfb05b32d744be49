package wire

import "github.com/ehrchain/ehrchain/internal/stateproof"

// Verify checks offline that value is key's value (nil: key is absent) in the state whose
// app hash is appHash, the hash the caller trusts (from a block header, its own node or a
// published checkpoint; the proof's own AppHash is only what the node claims).
func (p *Proof) Verify(appHash, key, value []byte) error {
	if p == nil {
		return stateproof.ErrNoProof
	}
	return stateproof.Verify(appHash, p.MapRoot, p.LogRoot, p.LogSize, p.Map, key, value)
}
