package app

import (
	"crypto/ed25519"

	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/txsig"
)

// verifier is the one door for signatures: every check of a transaction's or a read
// request's signature goes through it, and only it consults the signature cache. Outside
// consensus (CheckTx, Preverify, VerifyRead) a verified signature is remembered; in a block
// a remembered one is used once (used), so the cache never answers for a block twice.
type verifier struct{ cache *sigCache }

// envelope reports whether d's signature verifies with pub, checking it at most once per
// key outside consensus.
func (v verifier) envelope(d *decoded, pub ed25519.PublicKey) bool {
	return v.check(d.hash, pub, func() bool { return txsig.Verify(d.env, pub) })
}

// request is envelope for a read request.
func (v verifier) request(q *records.ReadRequest, pub ed25519.PublicKey) bool {
	return v.check(q.Hash(), pub, func() bool { return ed25519.Verify(pub, q.SignBytes(), q.Signature) })
}

func (v verifier) check(h [32]byte, pub ed25519.PublicKey, verify func() bool) bool {
	if v.cache.has(h, pub) {
		return true
	}
	if !verify() {
		return false
	}
	v.cache.add(h, pub)
	return true
}

// inBlock verifies d's signature inside a block and remembers nothing: a block checks each
// signature it did not find verified before (used) itself, once.
func (v verifier) inBlock(d *decoded, pub ed25519.PublicKey) bool { return txsig.Verify(d.env, pub) }

// used reports whether the signature of the transaction or request with hash h was
// verified with pub before the block, and forgets it: the block's own check is skipped
// once. A false answer means the caller verifies (a miss never admits anything).
func (v verifier) used(h [32]byte, pub ed25519.PublicKey) bool { return v.cache.take(h, pub) }

// usedRequest is used for a read batch's requests (records.Verified).
func (v verifier) usedRequest(_ int, q *records.ReadRequest, pub ed25519.PublicKey) bool {
	return v.used(q.Hash(), pub)
}
