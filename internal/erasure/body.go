package erasure

import "github.com/ehrchain/ehrchain/internal/tx"

// Body types owned by this package.
const (
	TypeErase tx.Type = 70 // patient erases a record, a category or the chart
	TypeHold  tx.Type = 71 // auditor or registrar places a legal hold
	TypeLift  tx.Type = 72 // auditor or registrar lifts it

	TypeSetRetention tx.Type = 73 // registrar sets a category's retention period
	TypeExpire       tx.Type = 74 // registrar erases records whose retention period ended
)

const maxBody = 4 << 10

// EraseBody asks to erase exactly one of: one record, every record of a category (and the
// category key), or the whole chart (and every category key). The signer is the patient.
type EraseBody struct {
	Record   string `json:"record,omitempty"`
	Category string `json:"category,omitempty"`
	Chart    bool   `json:"chart,omitempty"`
}

// Type implements tx.Body.
func (*EraseBody) Type() tx.Type { return TypeErase }

// Encode implements tx.Body.
func (b *EraseBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeErase parses an erase body.
func DecodeErase(raw []byte) (*EraseBody, error) {
	return tx.ReadJSON[EraseBody](raw, "erase", maxBody)
}

// HoldBody places a legal hold on a patient's whole chart, or on one record of it.
type HoldBody struct {
	Patient string `json:"patient"`
	Record  string `json:"record,omitempty"`
	Reason  string `json:"reason"`
}

// Type implements tx.Body.
func (*HoldBody) Type() tx.Type { return TypeHold }

// Encode implements tx.Body.
func (b *HoldBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeHold parses a hold body.
func DecodeHold(raw []byte) (*HoldBody, error) { return tx.ReadJSON[HoldBody](raw, "hold", maxBody) }

// LiftBody lifts a hold.
type LiftBody struct {
	Patient string `json:"patient"`
	Hold    string `json:"hold"`
	Reason  string `json:"reason"`
}

// Type implements tx.Body.
func (*LiftBody) Type() tx.Type { return TypeLift }

// Encode implements tx.Body.
func (b *LiftBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeLift parses a lift body.
func DecodeLift(raw []byte) (*LiftBody, error) { return tx.ReadJSON[LiftBody](raw, "lift", maxBody) }

// SetRetentionBody sets (or, with 0 days, removes) the retention period of a category, or
// of every category without its own ("*").
type SetRetentionBody struct {
	Category string `json:"category"`
	Days     int64  `json:"days"`
	Reason   string `json:"reason"`
}

// Type implements tx.Body.
func (*SetRetentionBody) Type() tx.Type { return TypeSetRetention }

// Encode implements tx.Body.
func (b *SetRetentionBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeSetRetention parses a set-retention body.
func DecodeSetRetention(raw []byte) (*SetRetentionBody, error) {
	return tx.ReadJSON[SetRetentionBody](raw, "set retention", maxBody)
}

// MaxExpire bounds the records one expiry names, so one transaction stays small.
const MaxExpire = 100

// ExpireBody names records whose retention period has ended.
type ExpireBody struct {
	Records []string `json:"records"`
}

// Type implements tx.Body.
func (*ExpireBody) Type() tx.Type { return TypeExpire }

// Encode implements tx.Body.
func (b *ExpireBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeExpire parses an expiry body.
func DecodeExpire(raw []byte) (*ExpireBody, error) {
	return tx.ReadJSON[ExpireBody](raw, "expire", maxBody+MaxExpire*80)
}
