// Package txsig checks transaction signatures on the node side. It lives apart from tx,
// which clients import to sign, so that a client builds without CometBFT.
package txsig

import (
	"crypto/ed25519"
	"github.com/ehrchain/ehrchain/internal/tx"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
)

// Transaction signatures are checked under ZIP-215, the rule CometBFT applies to its own
// votes: the cofactored equation, with the one implementation (curve25519-voi) for a single
// signature and for a batch, so that the two always agree. It accepts every signature Go's
// crypto/ed25519 accepts; it differs from it only on signatures built with small-order
// components, which no standard signer produces. Public keys are kept expanded in CometBFT's
// small cache, so a signer's key is decompressed once.

// Verify checks the signature against pub.
func Verify(e *tx.Envelope, pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && len(e.Signature) == ed25519.SignatureSize &&
		cmted25519.PubKey(pub).VerifySignature(e.SignBytes(), e.Signature)
}

// minBatch is the smallest batch worth a batch equation; below it each signature is checked
// on its own.
const minBatch = 4

// VerifyBatch checks envs[i]'s signature against keys[i] for every i and returns, for each,
// exactly what Verify(envs[i], keys[i]) returns. The batch equation uses random coefficients:
// valid signatures always satisfy it, and a batch holding an invalid one satisfies it only
// with negligible probability (2^-128); when it fails, every signature of the batch is
// checked on its own to find the bad ones. The result is therefore a pure function of the
// inputs, as consensus requires.
func VerifyBatch(envs []*tx.Envelope, keys []ed25519.PublicKey) []bool {
	ok := make([]bool, len(envs))
	if len(envs) < minBatch {
		for i, e := range envs {
			ok[i] = Verify(e, keys[i])
		}
		return ok
	}
	bv := cmted25519.NewBatchVerifier()
	added := make([]int, 0, len(envs))
	for i, e := range envs {
		if len(keys[i]) != ed25519.PublicKeySize || len(e.Signature) != ed25519.SignatureSize {
			continue // malformed: false, as Verify says
		}
		if bv.Add(cmted25519.PubKey(keys[i]), e.SignBytes(), e.Signature) != nil {
			continue
		}
		added = append(added, i)
	}
	if len(added) == 0 {
		return ok
	}
	if all, _ := bv.Verify(); all {
		for _, i := range added {
			ok[i] = true
		}
		return ok
	}
	for _, i := range added {
		ok[i] = Verify(envs[i], keys[i])
	}
	return ok
}
