package keys

import (
	"fmt"

	"golang.org/x/crypto/argon2"
)

// KDFParams are the Argon2id cost parameters used to turn a passphrase into
// the keystore encryption key. They are stored in the file so they can be
// raised later without breaking old files.
type KDFParams struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is the cost used for real keystores.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}

// TestKDF is a cheap cost for tests only: it is the weakest setting Encrypt
// accepts and must never be used for keys that protect real records.
var TestKDF = KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

// Accepted KDF ranges. The upper bounds stop a crafted file from making
// Decrypt allocate or spin without limit; the lower bounds stop a file from
// being written with a trivially guessable key.
const (
	minKDFTime   = 1
	maxKDFTime   = 100
	minKDFMemKiB = 8 * 1024
	maxKDFMemKiB = 4 * 1024 * 1024 // 4 GiB
	minKDFThread = 1
)

const (
	kdfAlg     = "argon2id"
	saltSize   = 16
	derivedLen = 32
)

// Validate reports whether p is within the accepted ranges.
func (p KDFParams) Validate() error {
	switch {
	case p.Time < minKDFTime || p.Time > maxKDFTime:
		return fmt.Errorf("%w: time %d not in [%d, %d]", ErrBadKDFParams, p.Time, minKDFTime, maxKDFTime)
	case p.MemoryKiB < minKDFMemKiB || p.MemoryKiB > maxKDFMemKiB:
		return fmt.Errorf("%w: memory %d KiB not in [%d, %d]", ErrBadKDFParams, p.MemoryKiB, minKDFMemKiB, maxKDFMemKiB)
	case p.Threads < minKDFThread:
		return fmt.Errorf("%w: threads %d, need at least %d", ErrBadKDFParams, p.Threads, minKDFThread)
	}
	return nil
}

// deriveKey runs Argon2id. Callers validate p first.
func deriveKey(passphrase, salt []byte, p KDFParams) []byte {
	return argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, derivedLen)
}
