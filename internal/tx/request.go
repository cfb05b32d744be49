package tx

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"time"
)

// Signed off-chain requests (an audited read, an audit query, a claims query) share one
// layout: a domain string, the chain id, the requester and the request's own fields, then a
// 16-byte nonce and an expiry in unix seconds, all signed with Ed25519; the wire form appends
// the signature. Each request type writes its fields; these helpers hold the part they share:
// signing, hashing, the head and tail of decoding, and authentication.

// RequestSignBytes is what a request's signer signs: the fields encode writes.
func RequestSignBytes(encode func(*Writer)) []byte {
	w := NewWriter(256)
	encode(w)
	return w.Bytes()
}

// RequestEncode is a request's wire form: the signed fields, then the signature.
func RequestEncode(encode func(*Writer), sig []byte) []byte {
	w := NewWriter(256 + ed25519.SignatureSize)
	encode(w)
	w.PutBytes(sig)
	return w.Bytes()
}

// RequestSign signs the fields encode writes.
func RequestSign(key ed25519.PrivateKey, encode func(*Writer)) []byte {
	return ed25519.Sign(key, RequestSignBytes(encode))
}

// RequestHash identifies a request, for replay detection and result lookup: the SHA-256 of
// its wire form.
func RequestHash(encode func(*Writer), sig []byte) [32]byte {
	return sha256.Sum256(RequestEncode(encode, sig))
}

// RequestHead reads the domain string a request starts with and refuses another request
// type's; what names the expected type in the error ("an audit query"). A read error is
// left to the reader (RequestTail reports it).
func (r *Reader) RequestHead(domain, what string) error {
	if d := r.String("domain", 32); d != domain && r.Err() == nil {
		return fmt.Errorf("not %s (domain %q)", what, d)
	}
	return nil
}

// RequestTail reads the end every request shares (nonce, expiry, signature) into nonce
// and requires nothing after it, so that a request has exactly one encoding.
func (r *Reader) RequestTail(nonce *[16]byte) (notAfter int64, sig []byte, err error) {
	n := r.Bytes("nonce", len(nonce))
	notAfter = r.Varint()
	sig = r.Bytes("signature", ed25519.SignatureSize)
	if err := r.Done(); err != nil {
		return 0, nil, err
	}
	if len(n) != len(nonce) {
		return 0, nil, fmt.Errorf("nonce is %d bytes, want %d: one encoding per request", len(n), len(nonce))
	}
	if len(sig) != ed25519.SignatureSize {
		return 0, nil, fmt.Errorf("signature is %d bytes, want %d", len(sig), ed25519.SignatureSize)
	}
	copy(nonce[:], n)
	return notAfter, sig, nil
}

// SignedRequest is what authentication reads of a signed request.
type SignedRequest struct {
	ChainID   string
	Requester string
	SignBytes []byte // what the requester signed
	Signature []byte
}

// RequestSigner is what the ledger holds about the identity a request names.
type RequestSigner struct {
	ID      string
	Active  bool
	SignKey ed25519.PublicKey
}

// AuthenticateRequest checks, in this order, that q was signed for chainID, that its
// requester is registered (who is not nil), that who is the requester and its current key
// verifies the signature, and that who is active. The codes are those of transactions; what
// names the request in the messages ("query"). The request's validity window is its own
// type's rule (RequestInWindow).
func AuthenticateRequest(chainID, what string, q SignedRequest, who *RequestSigner) *Error {
	switch {
	case q.ChainID != chainID:
		return Space.Err(CodeWrongChain, "the %s is signed for chain %q, this is %q", what, q.ChainID, chainID)
	case who == nil:
		return Space.Err(CodeUnknownSigner, "requester %s is not registered", q.Requester)
	case who.ID != q.Requester || !ed25519.Verify(who.SignKey, q.SignBytes, q.Signature):
		return Space.Err(CodeBadSignature, "the %s's signature does not verify with %s's current key", what, q.Requester)
	case !who.Active:
		return Space.Err(CodeInactive, "requester %s is deactivated", q.Requester)
	}
	return nil
}

// RequestInWindow reports whether a request that expires at notAfter (unix seconds) is
// valid at now: not expired, and expiring at most maxAge after now, which bounds how long a
// node must remember it to refuse a replay.
func RequestInWindow(notAfter int64, now time.Time, maxAge time.Duration) bool {
	return notAfter >= now.Unix() && notAfter <= now.Add(maxAge).Unix()
}
