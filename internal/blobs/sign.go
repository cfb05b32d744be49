package blobs

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Blob requests (a peer's fetch, a user's upload) are signed the same way: Ed25519 over
// domain-separated bytes naming the chain, the digest and a unix time, sent in headers. What
// differs is the key: a fetch carries the node's p2p key, an upload is checked against the
// signing key registered on chain.

// Headers shared by signed blob requests.
const (
	HeaderTime      = "X-Ehrchain-Time"      // unix seconds
	HeaderSignature = "X-Ehrchain-Signature" // base64 Ed25519 signature
)

// Skew is how far a signed request's time may be from the serving node's clock.
const Skew = 5 * time.Minute

// signBytes is domain || 0 || chain || 0 || digest || each field as 8-byte big-endian.
func signBytes(domain, chainID string, d [32]byte, fields ...uint64) []byte {
	b := []byte(domain + "\x00" + chainID + "\x00")
	b = append(b, d[:]...)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint64(b, f)
	}
	return b
}

// setSigned adds the time and signature headers.
func setSigned(h http.Header, unix int64, sig []byte) {
	h.Set(HeaderTime, strconv.FormatInt(unix, 10))
	h.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
}

// errStale is wrapped by the error of a request signed too far from now.
var errStale = errors.New("outside the allowed clock skew")

// signedAt parses the time header and checks it is within Skew of now.
func signedAt(h http.Header, what string, now time.Time) (int64, error) {
	unix, err := strconv.ParseInt(h.Get(HeaderTime), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s must be unix seconds", HeaderTime)
	}
	if t := time.Unix(unix, 0); t.Before(now.Add(-Skew)) || t.After(now.Add(Skew)) {
		return 0, fmt.Errorf("%w: %s signed at %s is more than %s from this node's clock", errStale, what, t.UTC().Format(time.RFC3339), Skew)
	}
	return unix, nil
}

// verifySigned checks the signature header over msg with pub.
func verifySigned(h http.Header, pub ed25519.PublicKey, msg []byte) bool {
	sig, err := base64.StdEncoding.DecodeString(h.Get(HeaderSignature))
	return err == nil && len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
}
