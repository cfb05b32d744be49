package blobs

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"time"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Uploads: PUT /v1/blobs/{digest} is signed by a registered identity that may write records,
// with the signing key it registered on chain. The signature binds chain, digest, size and
// time, so headers captured from one upload cannot carry other bytes, and go stale after
// Skew. The uploader is charged for the blob until a committed record references it.

// HeaderIdentity names the uploading identity (its 40-hex id); HeaderTime and
// HeaderSignature (over UploadBytes) complete an upload's headers.
const HeaderIdentity = "X-Ehrchain-Identity"

// UploadBytes is what an identity signs to upload a blob: domain, chain, digest, size, time.
func UploadBytes(chainID string, d [32]byte, size int64, unix int64) []byte {
	return signBytes("ehrchain/blobupload/v1", chainID, d, uint64(size), uint64(unix))
}

// SignUpload sets the headers of an upload of size bytes under d by identity id.
func SignUpload(h http.Header, chainID, id string, key ed25519.PrivateKey, d [32]byte, size int64, now time.Time) {
	unix := now.Unix()
	h.Set(HeaderIdentity, id)
	setSigned(h, unix, ed25519.Sign(key, UploadBytes(chainID, d, size, unix)))
}

// CheckUpload authenticates a signed upload of size bytes under d: the time is fresh, the
// identity is registered (keyOf returns its on-chain signing key, nil if unregistered) and the
// signature verifies. Whether that identity may upload is the caller's decision.
func CheckUpload(chainID string, d [32]byte, size int64, h http.Header, now time.Time, keyOf func(id string) ed25519.PublicKey) (string, *tx.Error) {
	id := h.Get(HeaderIdentity)
	if _, ok := tx.ParseSigner(id); !ok || h.Get(HeaderSignature) == "" {
		return "", Space.Err(CodeUnsigned, "blob uploads must be signed: headers %s (40-hex identity id), %s and %s", HeaderIdentity, HeaderTime, HeaderSignature)
	}
	unix, err := signedAt(h, "upload", now)
	if errors.Is(err, errStale) {
		return "", Space.Err(CodeStale, "%v", err)
	}
	if err != nil {
		return "", Space.Err(CodeUnsigned, "%v", err)
	}
	pub := keyOf(id)
	if pub == nil {
		return "", Space.Err(CodeUnknownSigner, "identity %s is not registered", id)
	}
	if !verifySigned(h, pub, UploadBytes(chainID, d, size, unix)) {
		return "", Space.Err(CodeBadSignature, "upload signature does not verify with the current signing key of %s over this chain, digest and size (%d bytes)", id, size)
	}
	return id, nil
}
