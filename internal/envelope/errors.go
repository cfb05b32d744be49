package envelope

import "errors"

var (
	// ErrTampered means a record ciphertext did not authenticate.
	ErrTampered = errors.New("envelope: record ciphertext failed authentication (tampered, or bound to another record id/version/patient/category)")
	// ErrUnwrap means a wrapped data key could not be opened with the given
	// private key and AAD.
	ErrUnwrap = errors.New("envelope: cannot unwrap data key (wrong recipient key, tampered, or bound to another record)")
	// ErrKeySize means a data key is not DataKeySize bytes.
	ErrKeySize = errors.New("envelope: data key must be 32 bytes")
	// ErrBadPublicKey means a recipient public key is not a valid
	// ML-KEM-768+X25519 HPKE key.
	ErrBadPublicKey = errors.New("envelope: invalid recipient public key")
)
