package emergency

import (
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Body types owned by this package (the range 60-79 is reserved for it).
const (
	TypeCustodian tx.Type = 60 // registrar enrols or retires a custodian institution
	TypeEscrow    tx.Type = 61 // patient escrows a category key k-of-n
	TypeOptOut    tx.Type = 62 // patient opts categories out of (or back into) break-glass
	TypeDeclare   tx.Type = 63 // provider declares an emergency (priority)
	TypeRelease   tx.Type = 64 // custodian releases its share to the declaring provider (priority)
	TypeJustify   tx.Type = 65 // provider justifies a declaration afterwards
	TypeReview    tx.Type = 66 // auditor reviews the justification
	TypeUrgentPut tx.Type = 67 // record write under an active declaration (priority)
)

// maxBody bounds a JSON body: an escrow carries up to MaxShares sealed shares.
const maxBody = 64 << 10

// CustodianBody enrols an identity as the escrow custodian of an institution, or retires it.
type CustodianBody struct {
	Custodian   string `json:"custodian"`
	Institution string `json:"institution"`
	Retire      bool   `json:"retire,omitempty"`
}

// EscrowBody escrows the current key of one category: its 32-byte seed split into
// len(Shares) Shamir shares, Threshold of which rebuild it, each sealed to one custodian.
type EscrowBody struct {
	Category  string        `json:"category"`
	Version   uint32        `json:"version"`
	Threshold int           `json:"threshold"`
	Shares    []EscrowShare `json:"shares"`
}

// EscrowShare is one Shamir share sealed (HPKE) to a custodian's identity key.
type EscrowShare struct {
	Custodian string `json:"custodian"`
	Sealed    []byte `json:"sealed"`
}

// OptOutBody opts categories out of break-glass (Undo: back in). Opting out withdraws the
// category's escrow: honest custodians can no longer release it.
type OptOutBody struct {
	Categories []string `json:"categories"`
	Undo       bool     `json:"undo,omitempty"`
}

// DeclareBody declares an emergency: purpose of use emergency treatment (ETREAT).
type DeclareBody struct {
	Patient    string   `json:"patient"`
	Reason     string   `json:"reason"`
	Categories []string `json:"categories,omitempty"` // empty: every emergency-visible one
	Window     int64    `json:"window_seconds"`       // 0: DefaultWindow
}

// ReleaseBody releases one custodian's share of one escrowed key version, re-sealed to the
// declaring provider.
type ReleaseBody struct {
	Declaration string `json:"declaration"`
	Category    string `json:"category"`
	Version     uint32 `json:"version"`
	Sealed      []byte `json:"sealed"`
}

// JustifyBody is the declaring provider's account of why the emergency access was needed.
type JustifyBody struct {
	Declaration string `json:"declaration"`
	Text        string `json:"text"`
}

// ReviewBody is an auditor's verdict on a justified declaration.
type ReviewBody struct {
	Declaration string `json:"declaration"`
	Verdict     string `json:"verdict"` // Appropriate or Inappropriate
	Note        string `json:"note,omitempty"`
}

// Review verdicts.
const (
	Appropriate   = "appropriate"
	Inappropriate = "inappropriate"
)

// UrgentPutBody is a record write made under an active emergency declaration: the same
// encoding as records.PutBody, another body type, so it can be ordered first.
type UrgentPutBody struct{ records.PutBody }

func (*CustodianBody) Type() tx.Type { return TypeCustodian }
func (*EscrowBody) Type() tx.Type    { return TypeEscrow }
func (*OptOutBody) Type() tx.Type    { return TypeOptOut }
func (*DeclareBody) Type() tx.Type   { return TypeDeclare }
func (*ReleaseBody) Type() tx.Type   { return TypeRelease }
func (*JustifyBody) Type() tx.Type   { return TypeJustify }
func (*ReviewBody) Type() tx.Type    { return TypeReview }
func (*UrgentPutBody) Type() tx.Type { return TypeUrgentPut }

func (b *CustodianBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }
func (b *EscrowBody) Encode(w *tx.Writer)    { tx.PutJSON(w, b) }
func (b *OptOutBody) Encode(w *tx.Writer)    { tx.PutJSON(w, b) }
func (b *DeclareBody) Encode(w *tx.Writer)   { tx.PutJSON(w, b) }
func (b *ReleaseBody) Encode(w *tx.Writer)   { tx.PutJSON(w, b) }
func (b *JustifyBody) Encode(w *tx.Writer)   { tx.PutJSON(w, b) }
func (b *ReviewBody) Encode(w *tx.Writer)    { tx.PutJSON(w, b) }

// DecodeCustodian parses a custodian body.
func DecodeCustodian(raw []byte) (*CustodianBody, error) {
	return tx.ReadJSON[CustodianBody](raw, "custodian", maxBody)
}

// DecodeEscrow parses an escrow body.
func DecodeEscrow(raw []byte) (*EscrowBody, error) {
	return tx.ReadJSON[EscrowBody](raw, "escrow", maxBody)
}

// DecodeOptOut parses an opt-out body.
func DecodeOptOut(raw []byte) (*OptOutBody, error) {
	return tx.ReadJSON[OptOutBody](raw, "opt-out", maxBody)
}

// DecodeDeclare parses a declaration body.
func DecodeDeclare(raw []byte) (*DeclareBody, error) {
	return tx.ReadJSON[DeclareBody](raw, "declaration", maxBody)
}

// DecodeRelease parses a release body.
func DecodeRelease(raw []byte) (*ReleaseBody, error) {
	return tx.ReadJSON[ReleaseBody](raw, "release", maxBody)
}

// DecodeJustify parses a justification body.
func DecodeJustify(raw []byte) (*JustifyBody, error) {
	return tx.ReadJSON[JustifyBody](raw, "justification", maxBody)
}

// DecodeReview parses a review body.
func DecodeReview(raw []byte) (*ReviewBody, error) {
	return tx.ReadJSON[ReviewBody](raw, "review", maxBody)
}

// DecodeUrgentPut parses an urgent write.
func DecodeUrgentPut(raw []byte) (*UrgentPutBody, error) {
	b, err := records.DecodePut(raw)
	if err != nil {
		return nil, err
	}
	return &UrgentPutBody{PutBody: *b}, nil
}

// DeclarationID is the id of the declaration made by the transaction with this hash.
func DeclarationID(txHash string) string { return "e-" + txHash[:16] }
