package claims

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Prior authorization statuses.
const (
	AuthPending  = "pending"
	AuthApproved = "approved"
	AuthDenied   = "denied"
)

// PriorAuth is a provider's request to perform a service the plan covers only with the
// insurer's approval, and the insurer's decision. An approved authorization lets up to
// Quantity claim lines with its code, from the same provider, for service days From..To.
type PriorAuth struct {
	ID        string   `json:"id"`
	Provider  string   `json:"provider"`
	Patient   string   `json:"patient"`
	Insurer   string   `json:"insurer"`
	Category  string   `json:"category"` // consent category the request discloses
	System    string   `json:"system"`
	Code      string   `json:"code"`
	From      Date     `json:"from"`
	To        Date     `json:"to"`
	Quantity  int      `json:"quantity"`
	Used      int      `json:"used"`
	Claims    []string `json:"claims,omitempty"` // claims whose lines used it
	Status    string   `json:"status"`
	Note      string   `json:"note,omitempty"`
	Requested int64    `json:"requested_at"`
	Decided   int64    `json:"decided_at,omitempty"`
}

// AuthID is the id of the prior authorization requested by the transaction with this hash.
func AuthID(txHash string) string { return "pa-" + txHash[:16] }

func authKey(id string) []byte { return []byte("pa/" + id) }

// GetAuth loads a prior authorization, or nil.
func GetAuth(r Reader, id string) *PriorAuth { return load[PriorAuth](r, authKey(id)) }

func (pa *PriorAuth) usable(provider, patient, insurer string, l LineInput, d Date, usedInClaim int) bool {
	return pa.Status == AuthApproved && pa.Provider == provider && pa.Patient == patient && pa.Insurer == insurer &&
		pa.System == l.System && pa.Code == l.Code && pa.From <= d && d <= pa.To && pa.Used+usedInClaim < pa.Quantity
}

// AuthRequestBody asks an insurer to authorize a service in advance.
type AuthRequestBody struct {
	Patient  string `json:"patient"`
	Insurer  string `json:"insurer"`
	Category string `json:"category"`
	System   string `json:"system"`
	Code     string `json:"code"`
	From     Date   `json:"from"`
	To       Date   `json:"to"`
	Quantity int    `json:"quantity"`
	Note     string `json:"note,omitempty"`
}

// AuthDecisionBody is the insurer's decision.
type AuthDecisionBody struct {
	ID      string `json:"id"`
	Approve bool   `json:"approve"`
	Note    string `json:"note,omitempty"`
}

// ExecRequestAuth stores a pending prior authorization. Like a claim, it discloses a service
// to the insurer, so it needs the patient's payment consent for its category.
func ExecRequestAuth(st Store, env identity.Env, signer string, b *AuthRequestBody) *tx.Error {
	if err := requireRole(env, signer, identity.Provider, "requests prior authorization"); err != nil {
		return err
	}
	if err := activePatient(st, b.Patient); err != nil {
		return err
	}
	ins := identity.Get(st, b.Insurer)
	if ins == nil || ins.Role != identity.Insurer || !ins.Active {
		return Space.Err(CodeNotFound, "%s is not an active registered insurer", b.Insurer)
	}
	switch {
	case !consent.ValidCategory(b.Category):
		return Space.Err(CodeInvalid, "category %q is not a valid record category", b.Category)
	case b.System == "" || b.Code == "" || b.System == Any || b.Code == Any || len(b.System) > 256 || len(b.Code) > 64:
		return Space.Err(CodeInvalid, "a prior authorization names one service: a code system and a code")
	case !b.From.valid() || !b.To.valid() || b.To < b.From:
		return Space.Err(CodeInvalid, "service window %q to %q: want YYYY-MM-DD dates, from on or before to", b.From, b.To)
	case b.Quantity < 1 || b.Quantity > 1000:
		return Space.Err(CodeInvalid, "quantity %d is outside 1..1000", b.Quantity)
	}
	if err := Space.CheckText(CodeInvalid, "note", b.Note, tx.TextRule{Max: 512}); err != nil {
		return err
	}
	id := AuthID(env.TxHash)
	d := insurerReceives(st, ins, b.Patient, id, b.Category, env.Time)
	if !d.Allowed {
		return Space.Err(CodeNoConsent, "the patient has not consented to %s receiving this request for payment: %s", b.Insurer, d.Reason)
	}
	pa := &PriorAuth{ID: id, Provider: signer, Patient: b.Patient, Insurer: b.Insurer, Category: b.Category,
		System: b.System, Code: b.Code, From: b.From, To: b.To, Quantity: b.Quantity, Status: AuthPending,
		Note: b.Note, Requested: env.Height}
	st.Set(authKey(id), mustJSON(pa))
	for _, p := range [][]byte{byPatient(b.Patient), byProvider(signer), byInsurer(b.Insurer)} {
		st.Set(append(p, id...), []byte{1})
	}
	ev := event(env, signer, audit.PriorAuthRequest, b.Patient)
	ev.Claim, ev.Subject, ev.Grant, ev.Category = id, b.Insurer, d.Grant, b.Category
	ev.Reason = fmt.Sprintf("%s|%s x%d, %s to %s", b.System, b.Code, b.Quantity, b.From, b.To)
	st.Append(ev.Encode())
	return nil
}

// ExecDecideAuth records the insurer's decision on a pending request.
func ExecDecideAuth(st Store, env identity.Env, signer string, b *AuthDecisionBody) *tx.Error {
	if err := requireRole(env, signer, identity.Insurer, "decides prior authorizations"); err != nil {
		return err
	}
	pa := GetAuth(st, b.ID)
	switch {
	case pa == nil:
		return Space.Err(CodeNotFound, "no prior authorization %s", b.ID)
	case pa.Insurer != signer:
		return Space.Err(CodeUnauthorized, "prior authorization %s was requested from another insurer", b.ID)
	case pa.Status != AuthPending:
		return Space.Err(CodeState, "prior authorization %s was already %s at height %d", b.ID, pa.Status, pa.Decided)
	}
	if err := Space.CheckText(CodeInvalid, "note", b.Note, tx.TextRule{Max: 512}); err != nil {
		return err
	}
	pa.Status, pa.Note, pa.Decided = AuthDenied, b.Note, env.Height
	if b.Approve {
		pa.Status = AuthApproved
	}
	st.Set(authKey(pa.ID), mustJSON(pa))
	ev := event(env, signer, audit.PriorAuthDecide, pa.Patient)
	ev.Claim, ev.Subject, ev.Category, ev.Reason = pa.ID, pa.Provider, pa.Category, pa.Status
	if b.Note != "" {
		ev.Reason += ": " + b.Note
	}
	st.Append(ev.Encode())
	return nil
}
