package app

import (
	"crypto/ed25519"

	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/txsig"
)

// verifier is the one door for signatures: every check of a transaction's or a read
// request's signature goes through it, and only it consults the signature cache. Outside
// consensus (CheckTx, Preverify, VerifyReads) a verified signature is remembered; in a block
// a remembered one is used once (used), so the cache never answers for a block twice.
type verifier struct{ cache *sigCache }

// envelope reports whether d's signature verifies with pub, checking it at most once per
// key outside consensus.
func (v verifier) envelope(d *decoded, pub ed25519.PublicKey) bool {
	return v.check(d.hash, pub, func() bool { return txsig.Verify(d.env, pub) })
}

func requestItem(q *records.ReadRequest, pub ed25519.PublicKey) txsig.Item {
	return txsig.Item{Pub: pub, Msg: q.SignBytes(), Sig: q.Signature}
}

// requests is request for many at once: the signatures not remembered are checked together
// (txsig.VerifyParallel), and those that verify are remembered. ok[i] answers for qs[i]
// with pubs[i].
func (v verifier) requests(qs []*records.ReadRequest, pubs []ed25519.PublicKey) []bool {
	ok := make([]bool, len(qs))
	hashes := make([][32]byte, len(qs))
	var todo []int
	var items []txsig.Item
	for i, q := range qs {
		hashes[i] = q.Hash()
		if v.cache.has(hashes[i], pubs[i]) {
			ok[i] = true
			continue
		}
		todo = append(todo, i)
		items = append(items, requestItem(q, pubs[i]))
	}
	for k, good := range txsig.VerifyParallel(items) {
		if i := todo[k]; good {
			ok[i] = true
			v.cache.add(hashes[i], pubs[i])
		}
	}
	return ok
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

// inBlockRequest checks a read request's signature inside a block (records.VerifyRequest):
// found verified before (used), or verified here by the rule transactions follow.
func (v verifier) inBlockRequest(_ int, q *records.ReadRequest, pub ed25519.PublicKey) bool {
	return v.used(q.Hash(), pub) || requestItem(q, pub).Verify()
}
