package identity

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ehrchain/ehrchain/internal/decodecache"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Role is what an identity may do.
type Role string

// Roles.
const (
	Registrar Role = "registrar"
	Provider  Role = "provider"
	Patient   Role = "patient"
	Auditor   Role = "auditor"
	Insurer   Role = "insurer"

	// Drug supply-chain trading partners (DSCSA): they capture EPCIS events
	// (internal/supply). A regulator reads the supply chain as an auditor reads records.
	Manufacturer Role = "manufacturer"
	Repackager   Role = "repackager"
	Wholesaler   Role = "wholesaler"
	Dispenser    Role = "dispenser"
	Regulator    Role = "regulator"
)

// Roles lists every valid role.
var Roles = []Role{Registrar, Provider, Patient, Auditor, Insurer, Manufacturer, Repackager, Wholesaler, Dispenser, Regulator}

// TradingPartner says whether r is a supply-chain role (the registrar binds its GS1
// company prefixes and locations).
func TradingPartner(r Role) bool {
	switch r {
	case Manufacturer, Repackager, Wholesaler, Dispenser, Regulator:
		return true
	}
	return false
}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown role %q (want one of %s)", s, strings.Join(names, ", "))
}

// Identity is the on-chain record of one actor.
type Identity struct {
	ID           string `json:"id"`
	Role         Role   `json:"role"`
	Name         string `json:"name"`
	Organization string `json:"organization,omitempty"`
	Licence      string `json:"licence,omitempty"`
	SignKey      []byte `json:"sign_key"`
	EncKey       []byte `json:"enc_key"`
	KeyVersion   uint32 `json:"key_version"`
	Active       bool   `json:"active"`
	RegisteredBy string `json:"registered_by"`
	RegisteredAt int64  `json:"registered_at"`
	RotatedAt    int64  `json:"rotated_at,omitempty"`
	Deactivated  int64  `json:"deactivated_at,omitempty"`
	Reason       string `json:"deactivation_reason,omitempty"`
	// Home is set for an identity registered on another chain and recognised here by a
	// proof of its entry there (internal/interchain): its keys and status follow that
	// chain's, so it cannot rotate them here. nil for every identity registered here.
	Home *Home `json:"home,omitempty"`
}

// Home is where a recognised (foreign) identity is registered, and how far its entry
// there is proven.
type Home struct {
	ChainID  string `json:"chain_id"`
	Client   string `json:"client"`    // our light client of that chain
	ProvenAt int64  `json:"proven_at"` // the home chain's height the entry was proven at
}

// Signer is what authenticating a signed request needs of the identity; nil if i is nil
// (not registered).
func (i *Identity) Signer() *tx.RequestSigner {
	if i == nil {
		return nil
	}
	return &tx.RequestSigner{ID: i.ID, Active: i.Active, SignKey: i.SignKey}
}

// Key is the state key of an identity.
func Key(id string) []byte { return []byte("id/" + id) }

// Prefix is the state key prefix under which identities are stored.
var Prefix = []byte("id/")

// Encode is the canonical state value.
func (i *Identity) Encode() []byte {
	b, err := json.Marshal(i)
	if err != nil {
		panic(err)
	}
	return b
}

// Decode parses a state value.
func Decode(b []byte) (*Identity, error) {
	var i Identity
	if err := json.Unmarshal(b, &i); err != nil {
		return nil, fmt.Errorf("identity record is corrupt: %w", err)
	}
	return &i, nil
}

// Reader is the state an identity lookup needs.
type Reader interface{ Get(key []byte) []byte }

// Get loads an identity, or nil if it does not exist. The caller owns the result.
func Get(r Reader, id string) *Identity {
	b := r.Get(Key(id))
	if b == nil {
		return nil
	}
	i, err := decodecache.Decode(r, decoded, b)
	if err != nil {
		panic(err)
	}
	cp := *i // handlers modify what they load; the cached value stays as stored
	return &cp
}

// decoded is the kind of cached identities, kept by their stored bytes in the cache the
// reader carries: every transaction looks its signer up several times (CheckTx, the block
// pre-pass, execution, recheck).
var decoded = decodecache.NewKind(100_000, Decode)
