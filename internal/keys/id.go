package keys

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
)

// IDLen is the length of an identity id in characters.
const IDLen = 40

// IDFromSignKey derives the stable identity id: lowercase hex of the first
// 20 bytes of SHA-256(pub). Short enough to read, long enough that ids do
// not collide.
func IDFromSignKey(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:IDLen/2])
}

// ValidID reports whether id has the form IDFromSignKey produces: exactly
// 40 lowercase hex characters.
func ValidID(id string) bool {
	if len(id) != IDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
