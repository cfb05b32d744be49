package keys

import (
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"fmt"
)

// Sizes of serialised keys for the HPKE KEM MLKEM768-X25519.
const (
	// EncPublicKeySize is the HPKE public key size: ML-KEM-768 encapsulation
	// key (1184) followed by an X25519 point (32).
	EncPublicKeySize = 1216
	// EncPrivateKeySize is the serialised HPKE private key: a 32-byte seed
	// from which both component keys are derived.
	EncPrivateKeySize = 32
)

// kem is the one KEM used for all encryption keys; fixing it here keeps a
// key of another suite from being parsed as ours.
var kem = hpke.MLKEM768X25519()

// KeyPair is one actor's secret keys.
type KeyPair struct {
	Sign ed25519.PrivateKey
	Enc  hpke.PrivateKey // ML-KEM-768+X25519 hybrid
}

// Generate creates a fresh signing and encryption key pair.
func Generate() (*KeyPair, error) {
	_, sign, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keys: generate signing key: %w", err)
	}
	enc, err := kem.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("keys: generate encryption key: %w", err)
	}
	return &KeyPair{Sign: sign, Enc: enc}, nil
}

// SignPublic returns the Ed25519 public key.
func (k *KeyPair) SignPublic() ed25519.PublicKey {
	return k.Sign.Public().(ed25519.PublicKey)
}

// EncPublic returns the serialised HPKE public key (EncPublicKeySize bytes).
func (k *KeyPair) EncPublic() []byte {
	return k.Enc.PublicKey().Bytes()
}

// ParseEncPublic validates and parses a serialised HPKE public key.
func ParseEncPublic(b []byte) (hpke.PublicKey, error) {
	if len(b) != EncPublicKeySize {
		return nil, fmt.Errorf("%w: encryption public key must be %d bytes, got %d", ErrBadKey, EncPublicKeySize, len(b))
	}
	pub, err := kem.NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: encryption public key: %v", ErrBadKey, err)
	}
	return pub, nil
}

// ParseEncPrivate validates and parses a serialised HPKE private key (the
// 32-byte seed returned by hpke.PrivateKey.Bytes).
func ParseEncPrivate(b []byte) (hpke.PrivateKey, error) {
	if len(b) != EncPrivateKeySize {
		return nil, fmt.Errorf("%w: encryption private key must be %d bytes, got %d", ErrBadKey, EncPrivateKeySize, len(b))
	}
	priv, err := kem.NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: encryption private key: %v", ErrBadKey, err)
	}
	return priv, nil
}

// encPrivateBytes serialises an HPKE private key, refusing keys of another
// KEM or keys that cannot be serialised (e.g. hardware-backed ones), so a
// keystore never silently drops a key.
func encPrivateBytes(priv hpke.PrivateKey) ([]byte, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: missing encryption private key", ErrBadKey)
	}
	if priv.KEM().ID() != kem.ID() {
		return nil, fmt.Errorf("%w: encryption key uses KEM 0x%04x, want 0x%04x", ErrBadKey, priv.KEM().ID(), kem.ID())
	}
	b, err := priv.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: encryption private key not serialisable: %v", ErrBadKey, err)
	}
	if len(b) != EncPrivateKeySize {
		return nil, fmt.Errorf("%w: encryption private key is %d bytes, want %d", ErrBadKey, len(b), EncPrivateKeySize)
	}
	return append([]byte(nil), b...), nil
}

// signSeed returns the 32-byte seed of an Ed25519 key after checking the
// key is well formed.
func signSeed(priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: signing private key must be %d bytes, got %d", ErrBadKey, ed25519.PrivateKeySize, len(priv))
	}
	return append([]byte(nil), priv.Seed()...), nil
}
