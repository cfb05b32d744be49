package envelope_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ehrchain/ehrchain/internal/envelope"
)

// TestWrapToSelf: the author's 60-byte wrap opens with the author's own private key for the
// record it names, and with nothing else: another key, another record, a flipped bit, a
// truncation or an extension each fail with ErrUnwrap.
func TestWrapToSelf(t *testing.T) {
	priv, _ := newRecipient(t)
	other, _ := newRecipient(t)
	key, _, err := envelope.Seal(plaintext, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	w, err := envelope.WrapKeyToSelf(priv, key, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != envelope.SelfWrappedKeySize {
		t.Fatalf("self-wrapped key is %d bytes, want %d", len(w), envelope.SelfWrappedKeySize)
	}
	got, err := envelope.UnwrapKeyFromSelf(priv, w, testAAD)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unwrap: %v", err)
	}
	if w2, _ := envelope.WrapKeyToSelf(priv, key, testAAD); bytes.Equal(w, w2) {
		t.Fatal("two self-wraps of the same key are identical")
	}
	moved := envelope.AAD("rec-0001", 4, "0123456789abcdef0123456789abcdef01234567", "labs")
	for name, try := range map[string]func() ([]byte, error){
		"another key":    func() ([]byte, error) { return envelope.UnwrapKeyFromSelf(other, w, testAAD) },
		"another record": func() ([]byte, error) { return envelope.UnwrapKeyFromSelf(priv, w, moved) },
		"no key":         func() ([]byte, error) { return envelope.UnwrapKeyFromSelf(nil, w, testAAD) },
		"truncated":      func() ([]byte, error) { return envelope.UnwrapKeyFromSelf(priv, w[:len(w)-1], testAAD) },
		"extended":       func() ([]byte, error) { return envelope.UnwrapKeyFromSelf(priv, append(bytes.Clone(w), 0), testAAD) },
		"an HPKE wrap": func() ([]byte, error) {
			return envelope.UnwrapKeyFromSelf(priv, make([]byte, envelope.WrappedKeySize), testAAD)
		},
	} {
		if got, err := try(); !errors.Is(err, envelope.ErrUnwrap) || got != nil {
			t.Errorf("%s: got %v", name, err)
		}
	}
	for i := range w {
		for bit := range 8 {
			bad := bytes.Clone(w)
			bad[i] ^= 1 << bit
			if got, err := envelope.UnwrapKeyFromSelf(priv, bad, testAAD); !errors.Is(err, envelope.ErrUnwrap) || got != nil {
				t.Fatalf("byte %d bit %d: got %v", i, bit, err)
			}
		}
	}
	if _, err := envelope.WrapKeyToSelf(priv, key[:31], testAAD); !errors.Is(err, envelope.ErrKeySize) {
		t.Errorf("short data key: got %v", err)
	}
}

func BenchmarkWrapKeyToSelf(b *testing.B) {
	priv, _ := newRecipient(b)
	key := make([]byte, envelope.DataKeySize)
	for b.Loop() {
		if _, err := envelope.WrapKeyToSelf(priv, key, testAAD); err != nil {
			b.Fatal(err)
		}
	}
}
