package claims

import (
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Audit actions of the claims contract (also listed in audit.KnownActions).
const (
	ActionPlanPublish     = audit.PlanPublish
	ActionCoverageEnroll  = audit.CoverageEnroll
	ActionCoverageEnd     = audit.CoverageEnd
	ActionClaimSubmit     = audit.ClaimSubmit
	ActionClaimAdjudicate = audit.ClaimAdjudicate
	ActionClaimPay        = audit.ClaimPay
	ActionClaimAppeal     = audit.ClaimAppeal
	ActionAppealDecide    = audit.ClaimAppealDecide
	ActionAuthRequest     = audit.PriorAuthRequest
	ActionAuthDecide      = audit.PriorAuthDecide
)

func event(env identity.Env, actor, action, patient string) *audit.Event {
	ev := &audit.Event{Height: env.Height, Time: env.Time, Tx: env.TxHash, Action: action,
		Outcome: audit.Success, Actor: actor, Patient: patient, Purpose: "payment"}
	if env.Signer != nil {
		ev.ActorRole, ev.Organization = string(env.Signer.Role), env.Signer.Organization
	}
	return ev
}

func requireRole(env identity.Env, signer string, role identity.Role, what string) *tx.Error {
	if env.Signer == nil || env.Signer.Role != role {
		return Space.Err(CodeUnauthorized, "only a %s %s; the signer %s is not one", role, what, signer)
	}
	return nil
}
