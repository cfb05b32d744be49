package claims

import (
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Body types owned by this package (the claims range is 40-59).
const (
	TypePublishPlan   tx.Type = 40
	TypeEnroll        tx.Type = 41
	TypeEndCoverage   tx.Type = 42
	TypeSubmitClaim   tx.Type = 43
	TypeRequestAuth   tx.Type = 44
	TypeDecideAuth    tx.Type = 45
	TypeRecordPayment tx.Type = 46
	TypeAppeal        tx.Type = 47
	TypeDecideAppeal  tx.Type = 48
	maxBody                   = 256 << 10
)

// Type implements tx.Body.
func (*PublishPlanBody) Type() tx.Type { return TypePublishPlan }

// Encode implements tx.Body.
func (b *PublishPlanBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodePublishPlan parses a plan body.
func DecodePublishPlan(raw []byte) (*PublishPlanBody, error) {
	return tx.ReadJSON[PublishPlanBody](raw, "plan", maxBody)
}

// Type implements tx.Body.
func (*EnrollBody) Type() tx.Type { return TypeEnroll }

// Encode implements tx.Body.
func (b *EnrollBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeEnroll parses an enrollment body.
func DecodeEnroll(raw []byte) (*EnrollBody, error) {
	return tx.ReadJSON[EnrollBody](raw, "coverage", maxBody)
}

// Type implements tx.Body.
func (*EndCoverageBody) Type() tx.Type { return TypeEndCoverage }

// Encode implements tx.Body.
func (b *EndCoverageBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeEndCoverage parses an end-of-coverage body.
func DecodeEndCoverage(raw []byte) (*EndCoverageBody, error) {
	return tx.ReadJSON[EndCoverageBody](raw, "coverage end", maxBody)
}

// Type implements tx.Body.
func (*SubmitBody) Type() tx.Type { return TypeSubmitClaim }

// Encode implements tx.Body.
func (b *SubmitBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeSubmit parses a claim submission.
func DecodeSubmit(raw []byte) (*SubmitBody, error) {
	return tx.ReadJSON[SubmitBody](raw, "claim", maxBody)
}

// Type implements tx.Body.
func (*AuthRequestBody) Type() tx.Type { return TypeRequestAuth }

// Encode implements tx.Body.
func (b *AuthRequestBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeAuthRequest parses a prior-authorization request.
func DecodeAuthRequest(raw []byte) (*AuthRequestBody, error) {
	return tx.ReadJSON[AuthRequestBody](raw, "prior authorization", maxBody)
}

// Type implements tx.Body.
func (*AuthDecisionBody) Type() tx.Type { return TypeDecideAuth }

// Encode implements tx.Body.
func (b *AuthDecisionBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeAuthDecision parses a prior-authorization decision.
func DecodeAuthDecision(raw []byte) (*AuthDecisionBody, error) {
	return tx.ReadJSON[AuthDecisionBody](raw, "prior authorization decision", maxBody)
}

// Type implements tx.Body.
func (*PaymentBody) Type() tx.Type { return TypeRecordPayment }

// Encode implements tx.Body.
func (b *PaymentBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodePayment parses a payment body.
func DecodePayment(raw []byte) (*PaymentBody, error) {
	return tx.ReadJSON[PaymentBody](raw, "payment", maxBody)
}

// Type implements tx.Body.
func (*AppealBody) Type() tx.Type { return TypeAppeal }

// Encode implements tx.Body.
func (b *AppealBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeAppeal parses an appeal.
func DecodeAppeal(raw []byte) (*AppealBody, error) {
	return tx.ReadJSON[AppealBody](raw, "appeal", maxBody)
}

// Type implements tx.Body.
func (*AppealDecisionBody) Type() tx.Type { return TypeDecideAppeal }

// Encode implements tx.Body.
func (b *AppealDecisionBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeAppealDecision parses an appeal decision.
func DecodeAppealDecision(raw []byte) (*AppealDecisionBody, error) {
	return tx.ReadJSON[AppealDecisionBody](raw, "appeal decision", maxBody)
}
