package identity

import (
	"crypto/ed25519"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Body types owned by this package.
const (
	TypeRegister   tx.Type = 2
	TypeDeactivate tx.Type = 3
	TypeRotate     tx.Type = 4
)

// Field limits.
const (
	maxName   = 128
	maxReason = 512
	maxEncKey = 2048
)

// Register adds an identity. The subject's id is derived from SignKey.
type Register struct {
	Role         Role
	Name         string
	Organization string
	Licence      string
	SignKey      []byte
	EncKey       []byte
	// Proof is the subject's signature over PopBytes, required when the signer is not the
	// subject: it shows the subject holds the private key being registered.
	Proof []byte
}

// Type implements tx.Body.
func (*Register) Type() tx.Type { return TypeRegister }

// Encode implements tx.Body.
func (b *Register) Encode(w *tx.Writer) {
	w.String(string(b.Role))
	w.String(b.Name)
	w.String(b.Organization)
	w.String(b.Licence)
	w.PutBytes(b.SignKey)
	w.PutBytes(b.EncKey)
	w.PutBytes(b.Proof)
}

// DecodeRegister parses a Register body.
func DecodeRegister(raw []byte) (*Register, error) {
	r := tx.NewReader(raw)
	b := &Register{
		Role:         Role(r.String("role", 16)),
		Name:         r.String("name", maxName),
		Organization: r.String("organization", maxName),
		Licence:      r.String("licence", maxName),
		SignKey:      r.Bytes("sign key", ed25519.PublicKeySize),
		EncKey:       r.Bytes("encryption key", maxEncKey),
		Proof:        r.Bytes("proof", ed25519.SignatureSize),
	}
	return b, r.Done()
}

// Deactivate stops an identity from acting. History stays.
type Deactivate struct {
	ID     string
	Reason string
}

// Type implements tx.Body.
func (*Deactivate) Type() tx.Type { return TypeDeactivate }

// Encode implements tx.Body.
func (b *Deactivate) Encode(w *tx.Writer) {
	w.String(b.ID)
	w.String(b.Reason)
}

// DecodeDeactivate parses a Deactivate body.
func DecodeDeactivate(raw []byte) (*Deactivate, error) {
	r := tx.NewReader(raw)
	b := &Deactivate{ID: r.String("id", 64), Reason: r.String("reason", maxReason)}
	return b, r.Done()
}

// Rotate replaces an identity's keys (after a compromise, or routinely). The id stays.
type Rotate struct {
	ID      string
	SignKey []byte
	EncKey  []byte
	Proof   []byte // signature by the new SignKey over PopBytes
}

// Type implements tx.Body.
func (*Rotate) Type() tx.Type { return TypeRotate }

// Encode implements tx.Body.
func (b *Rotate) Encode(w *tx.Writer) {
	w.String(b.ID)
	w.PutBytes(b.SignKey)
	w.PutBytes(b.EncKey)
	w.PutBytes(b.Proof)
}

// DecodeRotate parses a Rotate body.
func DecodeRotate(raw []byte) (*Rotate, error) {
	r := tx.NewReader(raw)
	b := &Rotate{
		ID:      r.String("id", 64),
		SignKey: r.Bytes("sign key", ed25519.PublicKeySize),
		EncKey:  r.Bytes("encryption key", maxEncKey),
		Proof:   r.Bytes("proof", ed25519.SignatureSize),
	}
	return b, r.Done()
}

// PopBytes is what a subject signs to prove it holds the key being registered or rotated to.
// It binds the chain, the purpose and both public keys, so a proof cannot be replayed
// elsewhere.
func PopBytes(chainID, purpose, subject string, signKey, encKey []byte) []byte {
	w := tx.NewWriter(64 + len(encKey))
	w.String("ehrchain/pop/v1")
	w.String(chainID)
	w.String(purpose)
	w.String(subject)
	w.PutBytes(signKey)
	w.PutBytes(encKey)
	return w.Bytes()
}

// SignPop produces a proof of possession with the subject's new signing key.
func SignPop(priv ed25519.PrivateKey, chainID, purpose, subject string, encKey []byte) []byte {
	pub := priv.Public().(ed25519.PublicKey)
	return ed25519.Sign(priv, PopBytes(chainID, purpose, subject, pub, encKey))
}
