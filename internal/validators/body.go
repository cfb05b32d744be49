package validators

import (
	"crypto/ed25519"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Body types owned by this package (range 30-39).
const (
	TypeSet    tx.Type = 30
	TypeRemove tx.Type = 31
)

// Limits. A consortium of hospitals is tens of validators; the power cap keeps the total far
// below CometBFT's maximum, whatever the registrar submits.
const (
	MaxPower      = 1_000_000
	MaxValidators = 150
	maxText       = 128
)

// Set adds a validator run by Institution, or changes an existing one's power and
// institution. Only the registrar may submit it.
type Set struct {
	PubKey      []byte
	Power       int64
	Institution string
	Name        string
}

// Type implements tx.Body.
func (*Set) Type() tx.Type { return TypeSet }

// Encode implements tx.Body.
func (b *Set) Encode(w *tx.Writer) {
	w.PutBytes(b.PubKey)
	w.Varint(b.Power)
	w.String(b.Institution)
	w.String(b.Name)
}

// DecodeSet parses a Set body.
func DecodeSet(raw []byte) (*Set, error) {
	r := tx.NewReader(raw)
	b := &Set{
		PubKey:      r.Bytes("consensus key", ed25519.PublicKeySize),
		Power:       r.Varint(),
		Institution: r.String("institution", maxText),
		Name:        r.String("name", maxText),
	}
	return b, r.Done()
}

// Remove takes a validator out of the set (its power becomes 0). Only the registrar may
// submit it.
type Remove struct {
	Address string // upper-case hex, as `ehrchain status` shows it
	Reason  string
}

// Type implements tx.Body.
func (*Remove) Type() tx.Type { return TypeRemove }

// Encode implements tx.Body.
func (b *Remove) Encode(w *tx.Writer) {
	w.String(b.Address)
	w.String(b.Reason)
}

// DecodeRemove parses a Remove body.
func DecodeRemove(raw []byte) (*Remove, error) {
	r := tx.NewReader(raw)
	b := &Remove{Address: r.String("address", 40), Reason: r.String("reason", 512)}
	return b, r.Done()
}
