package blobs

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestCheckFetchRefusesForgeries signs a fetch and then tries every way around the check:
// another key's id, a stale or future time, a signature for another digest or chain, a
// flipped signature bit, a key that is not Ed25519.
func TestCheckFetchRefusesForgeries(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	d := sha256.Sum256([]byte("blob"))
	now := time.Unix(1_800_000_000, 0)
	id := func(p []byte) string { s := sha256.Sum256(p); return hex.EncodeToString(s[:20]) }
	headers := func(mut func(h http.Header, sig []byte) []byte, chain string, digest [32]byte, at time.Time) http.Header {
		h := http.Header{}
		h.Set(HeaderNode, id(pub))
		h.Set(HeaderNodeKey, base64.StdEncoding.EncodeToString(pub))
		h.Set(HeaderTime, strconv.FormatInt(at.Unix(), 10))
		sig := ed25519.Sign(priv, FetchBytes(chain, digest, at.Unix()))
		if mut != nil {
			sig = mut(h, sig)
		}
		h.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
		return h
	}
	got, err := CheckFetch("c", d, headers(nil, "c", d, now), now)
	if err != nil || got != id(pub) {
		t.Fatalf("honest fetch: %q %v", got, err)
	}
	other := sha256.Sum256([]byte("other"))
	for name, h := range map[string]http.Header{
		"id of another key": headers(func(h http.Header, s []byte) []byte { h.Set(HeaderNode, id(otherPub)); return s }, "c", d, now),
		"another key": headers(func(h http.Header, s []byte) []byte {
			h.Set(HeaderNode, id(otherPub))
			h.Set(HeaderNodeKey, base64.StdEncoding.EncodeToString(otherPub))
			return s
		}, "c", d, now),
		"short key": headers(func(h http.Header, s []byte) []byte {
			h.Set(HeaderNodeKey, base64.StdEncoding.EncodeToString(pub[:31]))
			return s
		}, "c", d, now),
		"stale":        headers(nil, "c", d, now.Add(-Skew-time.Second)),
		"future":       headers(nil, "c", d, now.Add(Skew+time.Second)),
		"other digest": headers(nil, "c", other, now),
		"other chain":  headers(nil, "other-chain", d, now),
		"flipped bit":  headers(func(h http.Header, s []byte) []byte { s[5] ^= 1; return s }, "c", d, now),
		"no signature": headers(func(h http.Header, s []byte) []byte { return nil }, "c", d, now),
	} {
		if _, err := CheckFetch("c", d, h, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
