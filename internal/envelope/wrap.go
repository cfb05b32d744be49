package envelope

import (
	"crypto/hpke"
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
