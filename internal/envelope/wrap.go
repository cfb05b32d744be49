package envelope

import (
	"crypto/hkdf"
	"crypto/hpke"
	"crypto/sha256"
	"errors"
	"fmt"
)

// wrapDomain prefixes the HPKE info so wrapped keys cannot be confused with
// any other HPKE use of the same recipient key.
const wrapDomain = "ehrchain/wrap/v1"

var (
	kem  = hpke.MLKEM768X25519()
	kdf  = hpke.HKDFSHA256()
	aead = hpke.AES256GCM()
)

func wrapInfo(aad []byte) []byte {
	info := make([]byte, 0, len(wrapDomain)+len(aad))
	info = append(info, wrapDomain...)
	return append(info, aad...)
}

// WrapKey encrypts a data key to one recipient's HPKE public key (bytes).
// The HPKE info is "ehrchain/wrap/v1" || aad, so the wrapped key only opens
// for the record that aad names.
func WrapKey(recipientEncPub []byte, dataKey, aad []byte) ([]byte, error) {
	if len(dataKey) != DataKeySize {
		return nil, fmt.Errorf("%w: got %d", ErrKeySize, len(dataKey))
	}
	if len(recipientEncPub) != EncPublicKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrBadPublicKey, len(recipientEncPub), EncPublicKeySize)
	}
	pub, err := kem.NewPublicKey(recipientEncPub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPublicKey, err)
	}
	wrapped, err := hpke.Seal(pub, kdf, aead, wrapInfo(aad), dataKey)
	if err != nil {
		return nil, fmt.Errorf("envelope: wrap data key: %w", err)
	}
	return wrapped, nil
}

// UnwrapKey recovers a data key wrapped by WrapKey. Every failure is
// ErrUnwrap.
func UnwrapKey(priv hpke.PrivateKey, wrapped, aad []byte) ([]byte, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: no private key", ErrUnwrap)
	}
	if id := priv.KEM().ID(); id != kem.ID() {
		return nil, fmt.Errorf("%w: private key uses KEM 0x%04x, want 0x%04x", ErrUnwrap, id, kem.ID())
	}
	if len(wrapped) != WrappedKeySize {
		return nil, fmt.Errorf("%w: wrapped key is %d bytes, want %d", ErrUnwrap, len(wrapped), WrappedKeySize)
	}
	dataKey, err := hpke.Open(priv, kdf, aead, wrapInfo(aad), wrapped)
	if err != nil || len(dataKey) != DataKeySize {
		return nil, ErrUnwrap
	}
	return dataKey, nil
}

// selfWrapDomain separates the key an author derives for its own records from any other
// use of its private key.
const selfWrapDomain = "ehrchain/self-wrap/v1"

// selfKEK derives, from the author's own HPKE private key, the key that seals a data key
// for the author: HKDF-SHA256 with info "ehrchain/self-wrap/v1" || aad, so each record
// version has its own key.
func selfKEK(priv hpke.PrivateKey, aad []byte) ([]byte, error) {
	if priv == nil {
		return nil, errors.New("no private key")
	}
	ikm, err := priv.Bytes()
	if err != nil {
		return nil, err
	}
	info := append([]byte(selfWrapDomain), aad...)
	return hkdf.Key(sha256.New, ikm, nil, string(info), DataKeySize)
}

// WrapKeyToSelf seals a data key for its author, who needs no public-key wrap to itself:
// AES-256-GCM under a key derived from the author's own private key (selfKEK), random
// nonce, aad as additional data. It is SelfWrappedKeySize (60) bytes instead of the 1,168 of
// WrapKey, and opens only with the same private key.
func WrapKeyToSelf(priv hpke.PrivateKey, dataKey, aad []byte) ([]byte, error) {
	if len(dataKey) != DataKeySize {
		return nil, fmt.Errorf("%w: got %d", ErrKeySize, len(dataKey))
	}
	kek, err := selfKEK(priv, aad)
	if err != nil {
		return nil, fmt.Errorf("envelope: wrap data key to self: %w", err)
	}
	a, err := recordAEAD(kek)
	if err != nil {
		return nil, err
	}
	return a.Seal(nil, nil, dataKey, aad), nil
}

// UnwrapKeyFromSelf recovers a data key sealed by WrapKeyToSelf. Every failure is
// ErrUnwrap.
func UnwrapKeyFromSelf(priv hpke.PrivateKey, wrapped, aad []byte) ([]byte, error) {
	if len(wrapped) != SelfWrappedKeySize {
		return nil, fmt.Errorf("%w: self-wrapped key is %d bytes, want %d", ErrUnwrap, len(wrapped), SelfWrappedKeySize)
	}
	kek, err := selfKEK(priv, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnwrap, err)
	}
	a, err := recordAEAD(kek)
	if err != nil {
		return nil, ErrUnwrap
	}
	dk, err := a.Open(nil, nil, wrapped, aad)
	if err != nil || len(dk) != DataKeySize {
		return nil, ErrUnwrap
	}
	return dk, nil
}
