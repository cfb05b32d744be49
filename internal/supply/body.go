package supply

import "github.com/ehrchain/ehrchain/internal/tx"

// Body types owned by this package (the supply range is 80-99).
const (
	TypeBind    tx.Type = 90 // registrar binds company prefixes and GLNs to a trading partner
	TypeCapture tx.Type = 91 // a trading partner captures one EPCIS document's events
	TypeRelease tx.Type = 92 // a regulator releases quarantined items
)

// Limits.
const (
	maxBind     = 64 << 10
	maxRelease  = 128 << 10
	MaxDocument = 192 << 10 // bytes of one captured EPCIS document (a transaction is at most 256 KiB)
	MaxEvents   = 1000      // events in one captured document
)

// BindBody adds GS1 company prefixes and GLNs to a trading partner. Bindings only grow:
// a prefix once owned is history other partners' events refer to.
type BindBody struct {
	Partner  string   `json:"partner"`
	Prefixes []string `json:"prefixes,omitempty"` // GS1 company prefixes, 4-12 digits
	GLNs     []string `json:"glns,omitempty"`     // 13-digit Global Location Numbers
}

// Type implements tx.Body.
func (*BindBody) Type() tx.Type { return TypeBind }

// Encode implements tx.Body.
func (b *BindBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeBind parses a binding body.
func DecodeBind(raw []byte) (*BindBody, error) {
	return tx.ReadJSON[BindBody](raw, "binding", maxBind)
}

// CaptureBody carries one EPCIS 2.0 capture document (JSON-LD) exactly as the partner's
// system produced it: the signature covers the document's bytes.
type CaptureBody struct {
	Document []byte
}

// Type implements tx.Body.
func (*CaptureBody) Type() tx.Type { return TypeCapture }

// Encode implements tx.Body.
func (b *CaptureBody) Encode(w *tx.Writer) { w.PutBytes(b.Document) }

// DecodeCapture parses a capture body.
func DecodeCapture(raw []byte) (*CaptureBody, error) {
	r := tx.NewReader(raw)
	b := &CaptureBody{Document: r.Bytes("document", MaxDocument)}
	return b, r.Done()
}

// ReleaseBody releases quarantined items (DSCSA: the product was found not illegitimate)
// with the reason a person reads in the record.
type ReleaseBody struct {
	Items  []string `json:"items"` // EPC URIs or GS1 Digital Links
	Reason string   `json:"reason"`
}

// Type implements tx.Body.
func (*ReleaseBody) Type() tx.Type { return TypeRelease }

// Encode implements tx.Body.
func (b *ReleaseBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeRelease parses a release body.
func DecodeRelease(raw []byte) (*ReleaseBody, error) {
	return tx.ReadJSON[ReleaseBody](raw, "release", maxRelease)
}
