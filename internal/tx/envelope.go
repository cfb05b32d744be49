package tx

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
)

// Limits on what a node accepts. A record ciphertext above the inline threshold goes to the
// blob store, so no legitimate transaction approaches MaxTxBytes.
const (
	Version      = 1
	MaxTxBytes   = 256 << 10
	MaxChainID   = 64
	SignerLen    = 20
	maxBodyBytes = MaxTxBytes
)

// signDomain separates ehrchain transaction signatures from any other use of the same key.
const signDomain = "ehrchain/tx/v1\x00"

// Type identifies a body's kind; the application routes on it.
type Type uint16

// Body is a transaction payload owned by a domain package.
type Body interface {
	Type() Type
	Encode(w *Writer)
}

// Envelope is a signed transaction.
type Envelope struct {
	ChainID   string
	Signer    [SignerLen]byte // identity id, raw
	Sequence  uint64
	BodyType  Type
	Body      []byte // canonical body encoding
	Signature []byte // Ed25519 over SignBytes
}

// SignerID is the signer's identity id as lowercase hex.
func (e *Envelope) SignerID() string { return hex.EncodeToString(e.Signer[:]) }

func (e *Envelope) encodeUnsigned(w *Writer) {
	w.Uvarint(Version)
	w.String(e.ChainID)
	w.buf = append(w.buf, e.Signer[:]...)
	w.Uvarint(e.Sequence)
	w.Uvarint(uint64(e.BodyType))
	w.PutBytes(e.Body)
}

// SignBytes is what the signer signs: a domain prefix and the envelope without signature.
func (e *Envelope) SignBytes() []byte {
	w := NewWriter(len(signDomain) + len(e.Body) + 128)
	w.buf = append(w.buf, signDomain...)
	e.encodeUnsigned(w)
	return w.Bytes()
}

// Encode returns the wire form.
func (e *Envelope) Encode() []byte {
	w := NewWriter(len(e.Body) + 160)
	e.encodeUnsigned(w)
	w.PutBytes(e.Signature)
	return w.Bytes()
}

// Hash is the transaction hash, as CometBFT computes it (SHA-256 of the wire bytes).
func Hash(raw []byte) [32]byte { return sha256.Sum256(raw) }

// Decode parses a wire transaction. It accepts only the canonical encoding: every field in
// order, minimal varints, no trailing bytes.
func Decode(raw []byte) (*Envelope, *Error) {
	if len(raw) > MaxTxBytes {
		return nil, Space.Err(CodeTooLarge, "transaction is %d bytes, the limit is %d", len(raw), MaxTxBytes)
	}
	r := NewReader(raw)
	v := r.Uvarint()
	if r.Err() == nil && v != Version {
		return nil, Space.Err(CodeVersion, "envelope version %d is not supported (this node speaks %d)", v, Version)
	}
	e := &Envelope{}
	e.ChainID = r.String("chain id", MaxChainID)
	if r.Err() == nil {
		if len(r.buf) < SignerLen {
			r.fail("signer truncated")
		} else {
			copy(e.Signer[:], r.buf[:SignerLen])
			r.buf = r.buf[SignerLen:]
		}
	}
	e.Sequence = r.Uvarint()
	bt := r.Uvarint()
	if bt > 0xffff {
		r.fail("body type %d out of range", bt)
	}
	e.BodyType = Type(bt)
	e.Body = r.Bytes("body", maxBodyBytes)
	e.Signature = r.Bytes("signature", ed25519.SignatureSize)
	if err := r.Done(); err != nil {
		return nil, Space.Err(CodeMalformed, "malformed transaction: %v", err)
	}
	if len(e.Signature) != ed25519.SignatureSize {
		return nil, Space.Err(CodeMalformed, "malformed transaction: signature is %d bytes, want %d", len(e.Signature), ed25519.SignatureSize)
	}
	return e, nil
}

// Sign builds and signs an envelope for body.
func Sign(key ed25519.PrivateKey, signer [SignerLen]byte, chainID string, seq uint64, body Body) *Envelope {
	w := NewWriter(256)
	body.Encode(w)
	e := &Envelope{ChainID: chainID, Signer: signer, Sequence: seq, BodyType: body.Type(), Body: w.Bytes()}
	e.Signature = ed25519.Sign(key, e.SignBytes())
	return e
}

// ParseSigner converts a hex identity id into the raw signer field.
func ParseSigner(id string) ([SignerLen]byte, bool) {
	var s [SignerLen]byte
	b, err := hex.DecodeString(id)
	if err != nil || len(b) != SignerLen || hex.EncodeToString(b) != id {
		return s, false
	}
	copy(s[:], b)
	return s, true
}
