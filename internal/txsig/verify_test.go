package txsig

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"github.com/ehrchain/ehrchain/internal/tx"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

func signedMany(t testing.TB, n int) ([]*tx.Envelope, []ed25519.PublicKey) {
	envs := make([]*tx.Envelope, n)
	keys := make([]ed25519.PublicKey, n)
	for i := range envs {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		envs[i] = tx.Sign(priv, [tx.SignerLen]byte{byte(i)}, "chain-a", uint64(i), testBody{make([]byte, 100+i)})
		keys[i] = pub
	}
	return envs, keys
}

// itemsOf is envs[i]'s signature against keys[i], for every i.
func itemsOf(envs []*tx.Envelope, keys []ed25519.PublicKey) []Item {
	items := make([]Item, len(envs))
	for i, e := range envs {
		items[i] = EnvelopeItem(e, keys[i])
	}
	return items
}

// agree checks that a batch gives, for each entry, what Verify gives alone.
func agree(t *testing.T, envs []*tx.Envelope, keys []ed25519.PublicKey) []bool {
	t.Helper()
	got := VerifyItems(itemsOf(envs, keys))
	for i := range envs {
		if want := Verify(envs[i], keys[i]); got[i] != want {
			t.Fatalf("entry %d: batch says %v, alone %v", i, got[i], want)
		}
	}
	return got
}

func TestVerifyBatchAllValid(t *testing.T) {
	for _, n := range []int{1, minBatch - 1, minBatch, 100} {
		envs, keys := signedMany(t, n)
		for i, ok := range agree(t, envs, keys) {
			if !ok {
				t.Fatalf("n=%d: valid signature %d rejected", n, i)
			}
		}
	}
}

// One bad entry among many: only it fails, whatever is wrong with it and wherever it is.
func TestVerifyBatchFindsTheBadOne(t *testing.T) {
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	spoil := map[string]func(e *tx.Envelope, k *ed25519.PublicKey){
		"flipped signature bit": func(e *tx.Envelope, _ *ed25519.PublicKey) {
			e.Signature = append([]byte(nil), e.Signature...)
			e.Signature[10] ^= 1
		},
		"changed body": func(e *tx.Envelope, _ *ed25519.PublicKey) { e.Body = append(append([]byte(nil), e.Body...), 0) },
		"another key":  func(_ *tx.Envelope, k *ed25519.PublicKey) { *k = otherPub },
		"short key":    func(_ *tx.Envelope, k *ed25519.PublicKey) { *k = (*k)[:31] },
		"short signature": func(e *tx.Envelope, _ *ed25519.PublicKey) {
			e.Signature = e.Signature[:63]
		},
		"S not reduced": func(e *tx.Envelope, _ *ed25519.PublicKey) {
			// S + L verifies under a lax check; the canonical one refuses it.
			e.Signature = append([]byte(nil), e.Signature...)
			addL(e.Signature[32:])
		},
	}
	for name, f := range spoil {
		for _, bad := range []int{0, 37, 99} {
			envs, keys := signedMany(t, 100)
			f(envs[bad], &keys[bad])
			for i, ok := range agree(t, envs, keys) {
				if ok == (i == bad) {
					t.Fatalf("%s at %d: entry %d verified=%v", name, bad, i, ok)
				}
			}
		}
	}
}

// addL adds the group order L to the little-endian scalar s in place.
func addL(s []byte) {
	l, _ := hex.DecodeString("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	c := 0
	for i := range s {
		v := int(s[i]) + int(l[i]) + c
		s[i], c = byte(v), v>>8
	}
}

// A signature whose R carries a small-order component satisfies the cofactored equation but
// not the cofactorless one Go's crypto/ed25519 checks. No standard signer makes one; the
// rule here accepts it, and does so alone and in a batch alike, so the two never disagree.
func TestVerifyBatchSmallOrderComponent(t *testing.T) {
	envs, keys := signedMany(t, 50)
	e, pub := torsionSigned(t)
	envs[20], keys[20] = e, pub
	if ed25519.Verify(pub, e.SignBytes(), e.Signature) {
		t.Fatal("the standard library accepted the crafted signature: the test builds it wrong")
	}
	for i, ok := range agree(t, envs, keys) {
		if !ok {
			t.Fatalf("entry %d rejected", i)
		}
	}
}

// torsionSigned signs an envelope with R = [r]B + T, T the point of order 2.
func torsionSigned(t *testing.T) (*tx.Envelope, ed25519.PublicKey) {
	var a, r scalar.Scalar
	if _, err := a.SetRandom(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetRandom(rand.Reader); err != nil {
		t.Fatal(err)
	}
	var A, R, T curve.EdwardsPoint
	A.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, &a)
	tEnc, _ := hex.DecodeString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	var tc curve.CompressedEdwardsY
	if _, err := tc.SetBytes(tEnc); err != nil {
		t.Fatal(err)
	}
	if _, err := T.SetCompressedY(&tc); err != nil || !T.IsSmallOrder() || T.IsIdentity() {
		t.Fatalf("order-2 point: %v", err)
	}
	R.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, &r)
	R.Add(&R, &T)
	var Ac, Rc curve.CompressedEdwardsY
	Ac.SetEdwardsPoint(&A)
	Rc.SetEdwardsPoint(&R)
	pub := ed25519.PublicKey(Ac[:])
	e := &tx.Envelope{ChainID: "chain-a", Sequence: 1, BodyType: 42, Body: []byte("torsion")}
	h := sha512.New()
	h.Write(Rc[:])
	h.Write(pub)
	h.Write(e.SignBytes())
	var k, s scalar.Scalar
	if _, err := k.SetBytesModOrderWide(h.Sum(nil)); err != nil {
		t.Fatal(err)
	}
	s.Mul(&k, &a)
	s.Add(&s, &r)
	sig := make([]byte, 64)
	copy(sig, Rc[:])
	if err := s.ToBytes(sig[32:]); err != nil {
		t.Fatal(err)
	}
	e.Signature = sig
	return e, pub
}

// Every signature the standard library accepts, the rule here accepts.
func TestVerifyAcceptsWhatTheStandardLibraryAccepts(t *testing.T) {
	envs, keys := signedMany(t, 20)
	for i, e := range envs {
		if !ed25519.Verify(keys[i], e.SignBytes(), e.Signature) || !Verify(e, keys[i]) {
			t.Fatalf("entry %d: standard library and Verify disagree on a standard signature", i)
		}
	}
}

// testBody is a transaction body of opaque bytes.
type testBody struct{ b []byte }

func (testBody) Type() tx.Type         { return 42 }
func (t testBody) Encode(w *tx.Writer) { w.PutBytes(t.b) }

// VerifyParallel answers, for each item, what the item's own check says, whichever part
// of the split a bad one falls in.
func TestVerifyParallelFindsTheBadOnes(t *testing.T) {
	envs, keys := signedMany(t, 3*partSize+5)
	bad := map[int]bool{0: true, partSize + 1: true, len(envs) - 1: true}
	items := itemsOf(envs, keys)
	for i, e := range envs {
		if bad[i] {
			items[i].Sig = append([]byte(nil), e.Signature...)
			items[i].Sig[7] ^= 1
		}
	}
	for i, ok := range VerifyParallel(items) {
		if ok != items[i].Verify() || ok == bad[i] {
			t.Fatalf("item %d: parallel says %v, alone %v, spoiled %v", i, ok, items[i].Verify(), bad[i])
		}
	}
}
