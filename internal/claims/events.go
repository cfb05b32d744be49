package claims

import (
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
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
		article := "a"
		if role == identity.Insurer {
			article = "an"
		}
		return Space.Err(CodeUnauthorized, "only %s %s %s; the signer %s is not one", article, role, what, signer)
	}
	return nil
}
