package keys

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"errors"
	"strings"
	"testing"
)

func TestGenerateDistinct(t *testing.T) {
	a, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.SignPublic(), b.SignPublic()) {
		t.Error("two generated signing keys are equal")
	}
	if bytes.Equal(a.EncPublic(), b.EncPublic()) {
		t.Error("two generated encryption keys are equal")
	}
	if n := len(a.EncPublic()); n != EncPublicKeySize {
		t.Errorf("EncPublic is %d bytes, want %d", n, EncPublicKeySize)
	}
	if id := a.Enc.KEM().ID(); id != hpke.MLKEM768X25519().ID() {
		t.Errorf("KEM id 0x%04x, want MLKEM768-X25519", id)
	}
}

func TestParseEncPublic(t *testing.T) {
	kp, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParseEncPublic(kp.EncPublic())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pub.Bytes(), kp.EncPublic()) {
		t.Error("parsed public key does not re-serialise to the same bytes")
	}
	for _, n := range []int{0, 1, 32, EncPublicKeySize - 1, EncPublicKeySize + 1} {
		_, err := ParseEncPublic(make([]byte, n))
		if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "1216") {
			t.Errorf("length %d: got %v, want ErrBadKey naming the size", n, err)
		}
	}
	// Right length, but ML-KEM coefficients out of range.
	_, err = ParseEncPublic(bytes.Repeat([]byte{0xff}, EncPublicKeySize))
	if !errors.Is(err, ErrBadKey) {
		t.Errorf("invalid ML-KEM key: got %v, want ErrBadKey", err)
	}
}

func TestParseEncPrivateRoundTrip(t *testing.T) {
	kp, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := kp.Enc.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParseEncPrivate(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(priv.PublicKey().Bytes(), kp.EncPublic()) {
		t.Error("private key round trip changed the public key")
	}
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := ParseEncPrivate(make([]byte, n)); !errors.Is(err, ErrBadKey) {
			t.Errorf("length %d: got %v, want ErrBadKey", n, err)
		}
	}
}

func TestEncPrivateBytesRejectsForeignKeys(t *testing.T) {
	x, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := encPrivateBytes(x); !errors.Is(err, ErrBadKey) {
		t.Errorf("X25519-only key: got %v, want ErrBadKey", err)
	}
	if _, err := encPrivateBytes(nil); !errors.Is(err, ErrBadKey) {
		t.Errorf("nil key: got %v, want ErrBadKey", err)
	}
}

func TestID(t *testing.T) {
	kp, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	id := IDFromSignKey(kp.SignPublic())
	if !ValidID(id) {
		t.Fatalf("derived id %q is not valid", id)
	}
	if id != IDFromSignKey(kp.SignPublic()) {
		t.Error("id derivation is not deterministic")
	}
	// SHA-256 of the empty string starts e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4.
	if got, want := IDFromSignKey(nil), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"; got != want {
		t.Errorf("IDFromSignKey(nil) = %s, want %s", got, want)
	}
	for _, bad := range []string{
		"", strings.Repeat("a", 39), strings.Repeat("a", 41),
		strings.Repeat("A", 40), strings.Repeat("g", 40), strings.Repeat("0", 39) + " ",
		strings.ToUpper(id),
	} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}
