package claims

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// PaymentBody records that the insurer paid (part of) what it owes on a claim.
type PaymentBody struct {
	Claim     string `json:"claim"`
	Amount    int64  `json:"amount"`    // cents
	Reference string `json:"reference"` // remittance / transfer reference
}

// ExecPayment records a payment; it never exceeds what is still owed.
func ExecPayment(st Store, env identity.Env, signer string, b *PaymentBody) *tx.Error {
	if err := requireRole(env, signer, identity.Insurer, "records payments"); err != nil {
		return err
	}
	c := GetClaim(st, b.Claim)
	switch {
	case c == nil:
		return Space.Err(CodeNotFound, "no claim %s", b.Claim)
	case c.Insurer != signer:
		return Space.Err(CodeUnauthorized, "claim %s was submitted to another insurer", b.Claim)
	case b.Reference == "":
		return Space.Err(CodeInvalid, "a payment needs a reference (remittance or transfer id)")
	}
	if err := Space.CheckText(CodeInvalid, "reference", b.Reference, tx.TextRule{Max: 128}); err != nil {
		return err
	}
	owed := c.Payable - c.Paid
	if owed <= 0 {
		return Space.Err(CodeState, "claim %s owes nothing (payable %s, paid %s)", c.ID, FormatCents(c.Payable), FormatCents(c.Paid))
	}
	if b.Amount < 1 || b.Amount > owed {
		return Space.Err(CodeAmount, "payment %s is outside 0.01..%s, the amount still owed on claim %s", FormatCents(b.Amount), FormatCents(owed), c.ID)
	}
	c.Paid += b.Amount
	c.Payments = append(c.Payments, Payment{Amount: b.Amount, Reference: b.Reference, Height: env.Height, Time: env.Time})
	putClaim(st, c)
	ev := claimEvent(env, signer, audit.ClaimPay, c)
	ev.Subject = c.Provider
	ev.Reason = fmt.Sprintf("paid %s (ref %s); %s of %s paid", FormatCents(b.Amount), b.Reference, FormatCents(c.Paid), FormatCents(c.Payable))
	st.Append(ev.Encode())
	return nil
}
