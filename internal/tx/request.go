package tx

import (
	"crypto/ed25519"
	"fmt"
)

// Signed off-chain requests (an audited read, an audit query, a claims query) share one
// layout: a domain string and the request's own fields, then a 16-byte nonce and an expiry
// in unix seconds, all signed with Ed25519; the wire form appends the signature. Each
// request type writes its fields; these helpers hold the part they share.

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
