package blobs

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCheckUploadRefusesForgeries signs an upload and tries every way around the check,
// asserting the code each refusal carries.
func TestCheckUploadRefusesForgeries(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	id, stranger := strings.Repeat("ab", 20), strings.Repeat("cd", 20)
	keyOf := func(who string) ed25519.PublicKey {
		if who == id {
			return pub
		}
		return nil
	}
	d := sha256.Sum256([]byte("blob"))
	other := sha256.Sum256([]byte("other"))
	now := time.Unix(1_800_000_000, 0)
	signed := func(chain, who string, key ed25519.PrivateKey, digest [32]byte, size int64, at time.Time) http.Header {
		h := http.Header{}
		SignUpload(h, chain, who, key, digest, size, at)
		return h
	}
	if got, err := CheckUpload("c", d, 4, signed("c", id, priv, d, 4, now), now, keyOf); err != nil || got != id {
		t.Fatalf("honest upload: %q %v", got, err)
	}
	flipped := signed("c", id, priv, d, 4, now)
	sig, _ := base64.StdEncoding.DecodeString(flipped.Get(HeaderSignature))
	sig[7] ^= 1
	flipped.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	noSig := signed("c", id, priv, d, 4, now)
	noSig.Del(HeaderSignature)
	badID := signed("c", id, priv, d, 4, now)
	badID.Set(HeaderIdentity, "not-an-id")
	badTime := signed("c", id, priv, d, 4, now)
	badTime.Set(HeaderTime, "yesterday")
	for _, c := range []struct {
		name string
		h    http.Header
		code uint32
	}{
		{"no headers", http.Header{}, CodeUnsigned},
		{"no signature", noSig, CodeUnsigned},
		{"malformed identity", badID, CodeUnsigned},
		{"malformed time", badTime, CodeUnsigned},
		{"unregistered identity", signed("c", stranger, otherPriv, d, 4, now), CodeUnknownSigner},
		{"another key for a registered id", signed("c", id, otherPriv, d, 4, now), CodeBadSignature},
		{"signed for another digest", signed("c", id, priv, other, 4, now), CodeBadSignature},
		{"signed for another size", signed("c", id, priv, d, 5, now), CodeBadSignature},
		{"signed for another chain", signed("other-chain", id, priv, d, 4, now), CodeBadSignature},
		{"flipped bit", flipped, CodeBadSignature},
		{"stale", signed("c", id, priv, d, 4, now.Add(-Skew-time.Second)), CodeStale},
		{"future", signed("c", id, priv, d, 4, now.Add(Skew+time.Second)), CodeStale},
	} {
		_, err := CheckUpload("c", d, 4, c.h, now, keyOf)
		if err == nil || err.Codespace != string(Space) || err.Code != c.code {
			t.Errorf("%s: got %v, want %s/%d", c.name, err, Space, c.code)
		}
	}
}
