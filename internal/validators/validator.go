package validators

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Validator is one validator as the state map stores it. A removed validator stays with
// power 0, so its history (who added it, when it left) remains provable.
type Validator struct {
	Address     string `json:"address"` // CometBFT address: first 20 bytes of SHA-256(pub key), upper-case hex
	PubKey      []byte `json:"pub_key"` // Ed25519 consensus key
	Power       int64  `json:"power"`
	Institution string `json:"institution"`
	Name        string `json:"name,omitempty"`
	AddedBy     string `json:"added_by"` // registrar id, or "genesis"
	AddedAt     int64  `json:"added_at"`
	RemovedAt   int64  `json:"removed_at,omitempty"`
}

// Prefix is the state key prefix of validators.
var Prefix = []byte("val/")

// Key is the state key of the validator with address addr.
func Key(addr string) []byte { return []byte("val/" + addr) }

// Address derives CometBFT's address of an Ed25519 consensus key.
func Address(pub []byte) string {
	h := sha256.Sum256(pub)
	return strings.ToUpper(hex.EncodeToString(h[:20]))
}

// Encode is the canonical state value.
func (v *Validator) Encode() []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Decode parses a state value.
func Decode(b []byte) (*Validator, error) {
	var v Validator
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("validator record is corrupt: %w", err)
	}
	return &v, nil
}

// Reader is the state a lookup needs.
type Reader interface{ Get(key []byte) []byte }

// Get loads a validator by address, or nil.
func Get(r Reader, addr string) *Validator {
	b := r.Get(Key(addr))
	if b == nil {
		return nil
	}
	v, err := Decode(b)
	if err != nil {
		panic(err)
	}
	return v
}

// Power is the voting power the state gives addr (0 when unknown or removed).
func Power(r Reader, addr string) int64 {
	if v := Get(r, addr); v != nil {
		return v.Power
	}
	return 0
}

// Iterator lists stored validators.
type Iterator interface {
	Iterate(prefix []byte, fn func(key, value []byte) bool)
}

// List returns every validator ever added, active first, then by address.
func List(it Iterator) []*Validator {
	var out []*Validator
	it.Iterate(Prefix, func(_, val []byte) bool {
		if v, err := Decode(val); err == nil {
			out = append(out, v)
		}
		return true
	})
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Power > 0) != (out[j].Power > 0) {
			return out[i].Power > 0
		}
		return out[i].Address < out[j].Address
	})
	return out
}

// validKey checks a consensus key is an Ed25519 public key, the only type the chain's
// consensus parameters allow.
func validKey(pub []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("consensus key is %d bytes, want a %d-byte Ed25519 public key", len(pub), ed25519.PublicKeySize)
	}
	return nil
}
