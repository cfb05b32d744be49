// Package txsig checks transaction signatures on the node side. It lives apart from tx,
// which clients import to sign, so that a client builds without CometBFT.
package txsig

import (
	"crypto/ed25519"
	"runtime"
	"sync"

	"github.com/ehrchain/ehrchain/internal/tx"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
)

// Signatures are checked under ZIP-215, the rule CometBFT applies to its own votes: the
// cofactored equation, with the one implementation (curve25519-voi) for a single signature
// and for a batch, so that the two always agree. It accepts every signature Go's
// crypto/ed25519 accepts; it differs from it only on signatures built with small-order
// components, which no standard signer produces. Public keys are kept expanded in CometBFT's
// small cache, so a signer's key is decompressed once. Transactions and read requests are
// checked by the same rule: a node that remembers a signature as verified skips the block's
// check, so every node must reach the same answer whichever way it verified.

// Item is one signature to check: Sig over Msg by Pub.
type Item struct {
	Pub      ed25519.PublicKey
	Msg, Sig []byte
}

// Verify checks the item's signature.
func (it Item) Verify() bool {
	return len(it.Pub) == ed25519.PublicKeySize && len(it.Sig) == ed25519.SignatureSize &&
		cmted25519.PubKey(it.Pub).VerifySignature(it.Msg, it.Sig)
}

// Verify checks the envelope's signature against pub.
func Verify(e *tx.Envelope, pub ed25519.PublicKey) bool { return EnvelopeItem(e, pub).Verify() }

// EnvelopeItem is the envelope's signature to check against pub.
func EnvelopeItem(e *tx.Envelope, pub ed25519.PublicKey) Item {
	return Item{Pub: pub, Msg: e.SignBytes(), Sig: e.Signature}
}

// minBatch is the smallest batch worth a batch equation; below it each signature is checked
// on its own.
const minBatch = 4

// VerifyItems checks every item in one batch and returns, for each, exactly what its Verify
// returns. The batch equation uses random coefficients: valid signatures always satisfy it,
// and a batch holding an invalid one satisfies it only with negligible probability
// (2^-128); when it fails, every item is checked on its own to find the bad ones. The
// result is therefore a pure function of the inputs, as consensus requires.
func VerifyItems(items []Item) []bool {
	ok := make([]bool, len(items))
	if len(items) < minBatch {
		for i, it := range items {
			ok[i] = it.Verify()
		}
		return ok
	}
	bv := cmted25519.NewBatchVerifier()
	added := make([]int, 0, len(items))
	for i, it := range items {
		if len(it.Pub) != ed25519.PublicKeySize || len(it.Sig) != ed25519.SignatureSize {
			continue // malformed: false, as Verify says
		}
		if bv.Add(cmted25519.PubKey(it.Pub), it.Msg, it.Sig) != nil {
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
		ok[i] = items[i].Verify()
	}
	return ok
}

// partSize is the fewest signatures worth a batch of their own: VerifyParallel splits over
// the processors only in parts at least this large, since a batch's cost per signature
// falls with its size.
const partSize = 64

// VerifyParallel is VerifyItems with the items split in one batch per processor. Each
// result is a pure function of its item, so the split changes nothing but the time.
func VerifyParallel(items []Item) []bool {
	parts := min(runtime.GOMAXPROCS(0), (len(items)+partSize-1)/partSize)
	if parts <= 1 {
		return VerifyItems(items)
	}
	ok := make([]bool, len(items))
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(items)/parts, (p+1)*len(items)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			copy(ok[lo:hi], VerifyItems(items[lo:hi]))
		}()
	}
	wg.Wait()
	return ok
}
