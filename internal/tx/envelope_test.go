package tx

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
)

type testBody struct{ b []byte }

func (testBody) Type() Type         { return 42 }
func (t testBody) Encode(w *Writer) { w.PutBytes(t.b) }

func signed(t testing.TB) (*Envelope, ed25519.PublicKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var s [SignerLen]byte
	copy(s[:], pub)
	return Sign(priv, s, "chain-a", 7, testBody{[]byte("hello")}), pub
}

func TestRoundTrip(t *testing.T) {
	e, pub := signed(t)
	raw := e.Encode()
	d, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub, d.SignBytes(), d.Signature) || d.Sequence != 7 || d.ChainID != "chain-a" || d.BodyType != 42 || !bytes.Equal(d.Encode(), raw) {
		t.Fatalf("round trip mismatch: %+v", d)
	}
}

// TestEveryByteIsCovered flips each byte of a signed transaction: the result must either
// fail to decode or fail to verify. Nothing a relay can change goes unnoticed.
func TestEveryByteIsCovered(t *testing.T) {
	e, pub := signed(t)
	raw := e.Encode()
	for i := range raw {
		for _, bit := range []byte{1, 0x80} {
			m := bytes.Clone(raw)
			m[i] ^= bit
			d, err := Decode(m)
			if err == nil && ed25519.Verify(pub, d.SignBytes(), d.Signature) {
				t.Fatalf("flipping bit %#x of byte %d still verifies", bit, i)
			}
		}
	}
}

func TestSignatureIsDomainSeparated(t *testing.T) {
	e, pub := signed(t)
	// A signature over the bare encoding (without the domain prefix) must not verify.
	w := NewWriter(0)
	e.encodeUnsigned(w)
	if ed25519.Verify(pub, w.Bytes(), e.Signature) {
		t.Fatal("signature verifies over the encoding without the domain prefix")
	}
}

func TestDecodeRejectsNonCanonical(t *testing.T) {
	e, _ := signed(t)
	raw := e.Encode()
	// Sequence 7 is one varint byte; an overlong encoding 0x87 0x00 means the same number.
	i := bytes.IndexByte(raw[1+1+len("chain-a")+SignerLen:], 7) + 1 + 1 + len("chain-a") + SignerLen
	overlong := append(append(bytes.Clone(raw[:i]), 0x87, 0x00), raw[i+1:]...)
	if _, err := Decode(overlong); err == nil || err.Code != CodeMalformed {
		t.Fatalf("overlong varint accepted: %v", err)
	}
	if _, err := Decode(append(bytes.Clone(raw), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	if _, err := Decode(make([]byte, MaxTxBytes+1)); err == nil || err.Code != CodeTooLarge {
		t.Fatalf("oversized: %v", err)
	}
	bad := bytes.Clone(raw)
	bad[0] = 2
	if _, err := Decode(bad); err == nil || err.Code != CodeVersion {
		t.Fatalf("unknown version: %v", err)
	}
}

func TestParseSigner(t *testing.T) {
	for _, s := range []string{"", "zz", "ABCDEF0123456789ABCDEF0123456789ABCDEF01", "abcdef0123456789abcdef0123456789abcdef"} {
		if _, ok := ParseSigner(s); ok {
			t.Errorf("ParseSigner(%q) accepted", s)
		}
	}
	if _, ok := ParseSigner("abcdef0123456789abcdef0123456789abcdef01"); !ok {
		t.Error("valid id rejected")
	}
}

// FuzzDecode: the decoder never panics, and whatever it accepts re-encodes to the same bytes
// (one canonical encoding per transaction).
func FuzzDecode(f *testing.F) {
	e, _ := signed(f)
	f.Add(e.Encode())
	f.Add([]byte{})
	f.Add([]byte{1, 0})
	f.Add([]byte{1, 3, 'a', 'b', 'c'})
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Decode(raw)
		if err != nil {
			if err.Message == "" {
				t.Fatal("rejection without a message")
			}
			return
		}
		if !bytes.Equal(d.Encode(), raw) {
			t.Fatalf("accepted a non-canonical encoding")
		}
	})
}
