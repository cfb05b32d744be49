package app

import (
	"crypto/ed25519"
	"testing"

	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestVerifierDoor: the one door for signatures admits a signature only when it verifies
// with the key asked about. What it remembered outside consensus answers a block once, and
// only for the same key (a rotation in between means checking again); a forged signature is
// refused however often it is presented, and never remembered.
func TestVerifierDoor(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	rotated, _, _ := ed25519.GenerateKey(nil)
	v := verifier{newSigCache(16)}
	env := tx.Sign(key, [tx.SignerLen]byte{1}, "c", 0, &Noop{Payload: []byte("x")})
	good := &decoded{env: env, hash: [32]byte{1}}
	forgedEnv := *env
	forgedEnv.Signature = append([]byte{}, env.Signature...)
	forgedEnv.Signature[0] ^= 1
	forged := &decoded{env: &forgedEnv, hash: [32]byte{2}}

	for range 2 {
		if v.envelope(forged, pub) {
			t.Fatal("a forged signature was admitted")
		}
	}
	if v.used(forged.hash, pub) {
		t.Fatal("a refused signature was remembered for the block")
	}
	if v.inBlock(forged, pub) {
		t.Fatal("a forged signature verified in a block")
	}
	if !v.envelope(good, pub) {
		t.Fatal("a good signature was refused")
	}
	if v.envelope(good, rotated) {
		t.Fatal("a signature remembered for one key answered for another")
	}
	if !v.used(good.hash, pub) {
		t.Fatal("the block did not find the signature verified before it")
	}
	if v.used(good.hash, pub) {
		t.Fatal("a remembered signature answered a block twice")
	}
	v.envelope(good, pub)
	if v.used(good.hash, rotated) {
		t.Fatal("a block whose signer rotated its key found the old key's verification")
	}
	if !v.inBlock(good, pub) {
		t.Fatal("a good signature did not verify in a block")
	}

	q := &records.ReadRequest{ChainID: "c", Requester: "a", Patient: "p", Purpose: "treatment", NotAfter: 1}
	q.Sign(key)
	if ok := v.requests([]*records.ReadRequest{q}, []ed25519.PublicKey{pub}); !ok[0] || !v.used(q.Hash(), pub) || v.used(q.Hash(), pub) {
		t.Fatal("a read request's signature is not remembered once")
	}
	q.Purpose = "research" // altered after signing
	if v.requests([]*records.ReadRequest{q}, []ed25519.PublicKey{pub})[0] || v.inBlockRequest(0, q, pub) {
		t.Fatal("an altered read request was admitted")
	}
}
