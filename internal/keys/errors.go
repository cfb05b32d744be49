package keys

import "errors"

// Sentinel errors. Callers match them with errors.Is; most are returned
// wrapped with detail.
var (
	// ErrWrongPassphrase means the keystore did not authenticate: either the
	// passphrase is wrong or the file was altered.
	ErrWrongPassphrase = errors.New("keys: wrong passphrase or tampered keystore file")
	// ErrMalformed means a keystore file is not well formed.
	ErrMalformed = errors.New("keys: malformed keystore file")
	// ErrBadKDFParams means KDF parameters are outside the accepted range.
	ErrBadKDFParams = errors.New("keys: KDF parameters out of range")
	// ErrEmptyPassphrase refuses to protect private keys with nothing.
	ErrEmptyPassphrase = errors.New("keys: empty passphrase")
	// ErrInvalidKeystore means an in-memory keystore cannot be written.
	ErrInvalidKeystore = errors.New("keys: invalid keystore")
	// ErrBadKey means key bytes have the wrong length or format.
	ErrBadKey = errors.New("keys: invalid key")
	// ErrBadName means a keystore name is not usable as a file name.
	ErrBadName = errors.New("keys: invalid keystore name")
	// ErrExists means a keystore file is already present.
	ErrExists = errors.New("keys: keystore already exists")
	// ErrNotFound means no keystore file has the requested name.
	ErrNotFound = errors.New("keys: keystore not found")
)
