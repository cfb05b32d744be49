package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// recordAEAD is AES-256-GCM with a random nonce carried in front of the
// ciphertext, which is the nonce||ciphertext||tag layout records use.
func recordAEAD(dataKey []byte) (cipher.AEAD, error) {
	if len(dataKey) != DataKeySize {
		return nil, fmt.Errorf("%w: got %d", ErrKeySize, len(dataKey))
	}
	block, err := aes.NewCipher(dataKey)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// Seal encrypts plaintext with a fresh random 32-byte data key (AES-256-GCM,
// random 12-byte nonce; output nonce||ciphertext||tag). It returns the data
// key so the caller can wrap it for each reader. A fresh key per record
// version keeps random nonces far from their collision bound.
func Seal(plaintext, aad []byte) (dataKey, ciphertext []byte, err error) {
	dataKey = make([]byte, DataKeySize)
	rand.Read(dataKey)
	aead, err := recordAEAD(dataKey)
	if err != nil {
		return nil, nil, err
	}
	return dataKey, aead.Seal(nil, nil, plaintext, aad), nil
}

// Open decrypts a record ciphertext produced by Seal. Any failure to
// authenticate, including truncation, is ErrTampered.
func Open(dataKey, ciphertext, aad []byte) ([]byte, error) {
	aead, err := recordAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes is shorter than nonce and tag", ErrTampered, len(ciphertext))
	}
	pt, err := aead.Open(nil, nil, ciphertext, aad)
	if err != nil {
		return nil, ErrTampered
	}
	return pt, nil
}
