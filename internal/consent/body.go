package consent

import (
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Body types owned by this package.
const (
	TypeGrant  tx.Type = 20
	TypeRevoke tx.Type = 21
)

// maxBody bounds a consent body: grants carry wrapped category keys (about 1.2 KB each).
const maxBody = 128 << 10

// GrantBody issues a grant. The grant id is derived from the transaction hash
// (GrantID), so it is unique and known to the client as soon as it has signed.
type GrantBody struct {
	Grant Grant
}

// Type implements tx.Body.
func (*GrantBody) Type() tx.Type { return TypeGrant }

// Encode implements tx.Body. The grant travels as JSON inside the canonical envelope; the
// envelope signature covers these exact bytes.
func (b *GrantBody) Encode(w *tx.Writer) { w.PutBytes(b.Grant.Encode()) }

// DecodeGrant parses a grant body.
func DecodeGrant(raw []byte) (*GrantBody, error) {
	g, err := tx.ReadJSON[Grant](raw, "grant", maxBody)
	if err != nil {
		return nil, err
	}
	return &GrantBody{Grant: *g}, nil
}

// CategoryKey is a patient's public key for one category, at one version.
type CategoryKey struct {
	Category string `json:"category"`
	Version  uint32 `json:"version"`
	EncKey   []byte `json:"enc_key"`
}

// RevokeBody revokes a grant. Revoking rotates every category key the grant shared: it
// carries the new public keys and fresh key shares for the grantees that keep access.
type RevokeBody struct {
	GrantID   string        `json:"grant_id"`
	Rotations []CategoryKey `json:"rotations,omitempty"`
	Reshares  []Reshare     `json:"reshares,omitempty"`
}

// Reshare hands the new version of a category key to a grantee of another grant that
// keeps access.
type Reshare struct {
	GrantID string   `json:"grant_id"`
	Share   KeyShare `json:"share"`
}

// Type implements tx.Body.
func (*RevokeBody) Type() tx.Type { return TypeRevoke }

// Encode implements tx.Body.
func (b *RevokeBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeRevoke parses a revoke body.
func DecodeRevoke(raw []byte) (*RevokeBody, error) {
	return tx.ReadJSON[RevokeBody](raw, "revoke", maxBody)
}

// GrantID is the id of the grant created by the transaction with this hash (lowercase hex).
func GrantID(txHash string) string { return "g-" + txHash[:16] }

// TypePublishKeys publishes (or rotates) a patient's category public keys.
const TypePublishKeys tx.Type = 22

// PublishKeysBody publishes category public keys, each at version 1 (new category) or one
// above the current version (rotation).
type PublishKeysBody struct {
	Keys []CategoryKey `json:"keys"`
}

// Type implements tx.Body.
func (*PublishKeysBody) Type() tx.Type { return TypePublishKeys }

// Encode implements tx.Body.
func (b *PublishKeysBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodePublishKeys parses a publish-keys body.
func DecodePublishKeys(raw []byte) (*PublishKeysBody, error) {
	return tx.ReadJSON[PublishKeysBody](raw, "keys", maxBody)
}
