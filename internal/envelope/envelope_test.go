package envelope_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/envelope"
)

var (
	testAAD   = envelope.AAD("rec-0001", 3, "0123456789abcdef0123456789abcdef01234567", "labs")
	plaintext = bytes.Repeat([]byte(`{"obs":"hb","value":13.5}`), 60)[:1500]
)

func TestSealOpenRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 1500, 1 << 16} {
		pt := bytes.Repeat([]byte{'x'}, n)
		key, ct, err := envelope.Seal(pt, testAAD)
		if err != nil {
			t.Fatal(err)
		}
		if len(key) != envelope.DataKeySize {
			t.Errorf("data key is %d bytes", len(key))
		}
		if len(ct) != n+envelope.Overhead {
			t.Errorf("ciphertext of %d bytes is %d, want +%d", n, len(ct), envelope.Overhead)
		}
		got, err := envelope.Open(key, ct, testAAD)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("size %d: round trip failed: %v", n, err)
		}
	}
}

func TestSealIsRandomised(t *testing.T) {
	k1, c1, err := envelope.Seal(plaintext, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	k2, c2, err := envelope.Seal(plaintext, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(k1, k2) || bytes.Equal(c1, c2) || bytes.Equal(c1[:envelope.NonceSize], c2[:envelope.NonceSize]) {
		t.Fatal("two seals of the same plaintext share key, nonce or ciphertext")
	}
	if bytes.Contains(c1, plaintext[:32]) {
		t.Fatal("plaintext visible in ciphertext")
	}
}

func TestOpenEveryBitFlip(t *testing.T) {
	key, ct, err := envelope.Seal(plaintext, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		for bit := range 8 {
			bad := bytes.Clone(ct)
			bad[i] ^= 1 << bit
			if _, err := envelope.Open(key, bad, testAAD); !errors.Is(err, envelope.ErrTampered) {
				t.Fatalf("byte %d bit %d: got %v, want ErrTampered", i, bit, err)
			}
		}
	}
}

func TestOpenWrongContext(t *testing.T) {
	const rec, pat, cat = "rec-0001", "0123456789abcdef0123456789abcdef01234567", "labs"
	key, ct, err := envelope.Seal(plaintext, envelope.AAD(rec, 3, pat, cat))
	if err != nil {
		t.Fatal(err)
	}
	for name, aad := range map[string][]byte{
		"record id": envelope.AAD("rec-0002", 3, pat, cat),
		"version":   envelope.AAD(rec, 4, pat, cat),
		"patient":   envelope.AAD(rec, 3, "1123456789abcdef0123456789abcdef01234567", cat),
		"category":  envelope.AAD(rec, 3, pat, "imaging"),
		"empty":     nil,
		"raw bytes": []byte(rec + pat + cat),
	} {
		_, err := envelope.Open(key, ct, aad)
		if !errors.Is(err, envelope.ErrTampered) {
			t.Errorf("%s: got %v, want ErrTampered", name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "authentication") {
			t.Errorf("%s: message %q does not say authentication failed", name, err)
		}
	}
	other := bytes.Clone(key)
	other[0] ^= 1
	if _, err := envelope.Open(other, ct, testAAD); !errors.Is(err, envelope.ErrTampered) {
		t.Errorf("wrong key: got %v", err)
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := envelope.Open(make([]byte, n), ct, testAAD); !errors.Is(err, envelope.ErrKeySize) {
			t.Errorf("key of %d bytes: got %v", n, err)
		}
	}
}

func TestOpenTruncatedOrExtended(t *testing.T) {
	key, ct, err := envelope.Seal(plaintext, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(ct) {
		if _, err := envelope.Open(key, ct[:n], testAAD); !errors.Is(err, envelope.ErrTampered) {
			t.Fatalf("truncated to %d: got %v", n, err)
		}
	}
	// Dropping leading bytes shifts the nonce.
	for n := 1; n <= envelope.Overhead; n++ {
		if _, err := envelope.Open(key, ct[n:], testAAD); !errors.Is(err, envelope.ErrTampered) {
			t.Fatalf("first %d bytes dropped: got %v", n, err)
		}
	}
	if _, err := envelope.Open(key, append(bytes.Clone(ct), 0), testAAD); !errors.Is(err, envelope.ErrTampered) {
		t.Fatalf("extended: got %v", err)
	}
}

func TestAAD(t *testing.T) {
	a := envelope.AAD("r", 1, "p", "c")
	if !bytes.Equal(a, envelope.AAD("r", 1, "p", "c")) {
		t.Fatal("AAD is not deterministic")
	}
	// Pinned encoding: other clients must produce the same bytes.
	want := hex.EncodeToString([]byte("ehrchain/record/v1")) +
		"0000000000000001" + "72" + "00000001" +
		"0000000000000001" + "70" +
		"0000000000000001" + "63"
	if got := hex.EncodeToString(a); got != want {
		t.Fatalf("AAD encoding\n got %s\nwant %s", got, want)
	}
	// Field boundaries cannot be moved.
	distinct := [][]byte{
		envelope.AAD("ab", 1, "c", "d"),
		envelope.AAD("a", 1, "bc", "d"),
		envelope.AAD("a", 1, "b", "cd"),
		envelope.AAD("", 1, "abc", "d"),
		envelope.AAD("abcd", 1, "", ""),
		envelope.AAD("ab", 2, "c", "d"),
		envelope.AAD("ab", 1<<24, "c", "d"),
		envelope.AAD("", 0, "", ""),
	}
	for i := range distinct {
		for j := i + 1; j < len(distinct); j++ {
			if bytes.Equal(distinct[i], distinct[j]) {
				t.Errorf("AAD inputs %d and %d collide", i, j)
			}
		}
	}
}

func newRecipient(t testing.TB) (hpke.PrivateKey, []byte) {
	t.Helper()
	k, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k, k.PublicKey().Bytes()
}

func TestWrapUnwrap(t *testing.T) {
	priv, pub := newRecipient(t)
	other, _ := newRecipient(t)
	key, _, err := envelope.Seal(plaintext, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	w, err := envelope.WrapKey(pub, key, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != envelope.WrappedKeySize {
		t.Fatalf("wrapped key is %d bytes, want %d", len(w), envelope.WrappedKeySize)
	}
	got, err := envelope.UnwrapKey(priv, w, testAAD)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unwrap: %v", err)
	}
	w2, err := envelope.WrapKey(pub, key, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(w, w2) {
		t.Fatal("two wraps of the same key are identical")
	}

	if _, err := envelope.UnwrapKey(other, w, testAAD); !errors.Is(err, envelope.ErrUnwrap) {
		t.Errorf("wrong private key: got %v", err)
	}
	// A wrapped key moved to another record does not open there.
	moved := envelope.AAD("rec-0001", 4, "0123456789abcdef0123456789abcdef01234567", "labs")
	if _, err := envelope.UnwrapKey(priv, w, moved); !errors.Is(err, envelope.ErrUnwrap) {
		t.Errorf("wrong aad: got %v", err)
	}
	if _, err := envelope.UnwrapKey(priv, w, nil); !errors.Is(err, envelope.ErrUnwrap) {
		t.Errorf("nil aad: got %v", err)
	}
	if _, err := envelope.UnwrapKey(nil, w, testAAD); !errors.Is(err, envelope.ErrUnwrap) {
		t.Errorf("nil key: got %v", err)
	}
	x, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.UnwrapKey(x, w, testAAD); !errors.Is(err, envelope.ErrUnwrap) {
		t.Errorf("key of another KEM: got %v", err)
	}
	for n := range len(w) {
		if _, err := envelope.UnwrapKey(priv, w[:n], testAAD); !errors.Is(err, envelope.ErrUnwrap) {
			t.Fatalf("truncated to %d: got %v", n, err)
		}
	}
	if _, err := envelope.UnwrapKey(priv, append(bytes.Clone(w), 0), testAAD); !errors.Is(err, envelope.ErrUnwrap) {
		t.Fatalf("extended: got %v", err)
	}
}

func TestUnwrapEveryBitFlip(t *testing.T) {
	priv, pub := newRecipient(t)
	key := bytes.Repeat([]byte{7}, envelope.DataKeySize)
	w, err := envelope.WrapKey(pub, key, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	bits := []int{0, 1, 2, 3, 4, 5, 6, 7}
	if testing.Short() {
		bits = []int{0, 7}
	}
	for i := range w {
		for _, bit := range bits {
			bad := bytes.Clone(w)
			bad[i] ^= 1 << bit
			if got, err := envelope.UnwrapKey(priv, bad, testAAD); !errors.Is(err, envelope.ErrUnwrap) || got != nil {
				t.Fatalf("byte %d bit %d: got %v", i, bit, err)
			}
		}
	}
}

func TestWrapKeyRejects(t *testing.T) {
	_, pub := newRecipient(t)
	key := make([]byte, envelope.DataKeySize)
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := envelope.WrapKey(pub, make([]byte, n), testAAD); !errors.Is(err, envelope.ErrKeySize) {
			t.Errorf("data key of %d bytes: got %v", n, err)
		}
	}
	for name, p := range map[string][]byte{
		"empty":      nil,
		"x25519":     pub[len(pub)-32:],
		"short":      pub[:len(pub)-1],
		"long":       append(bytes.Clone(pub), 0),
		"bad ML-KEM": bytes.Repeat([]byte{0xff}, envelope.EncPublicKeySize),
	} {
		if _, err := envelope.WrapKey(p, key, testAAD); !errors.Is(err, envelope.ErrBadPublicKey) {
			t.Errorf("%s public key: got %v", name, err)
		}
	}
}

func BenchmarkSeal1500(b *testing.B) {
	b.SetBytes(int64(len(plaintext)))
	for b.Loop() {
		if _, _, err := envelope.Seal(plaintext, testAAD); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen1500(b *testing.B) {
	key, ct, err := envelope.Seal(plaintext, testAAD)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(plaintext)))
	for b.Loop() {
		if _, err := envelope.Open(key, ct, testAAD); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrapKey(b *testing.B) {
	_, pub := newRecipient(b)
	key := make([]byte, envelope.DataKeySize)
	for b.Loop() {
		if _, err := envelope.WrapKey(pub, key, testAAD); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrapKey(b *testing.B) {
	priv, pub := newRecipient(b)
	w, err := envelope.WrapKey(pub, make([]byte, envelope.DataKeySize), testAAD)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := envelope.UnwrapKey(priv, w, testAAD); err != nil {
			b.Fatal(err)
		}
	}
}
