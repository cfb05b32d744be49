package claims

import (
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

func event(env identity.Env, actor, action, patient string) *audit.Event {
	ev := env.SignerEvent(actor, action)
	ev.Patient, ev.Purpose = patient, "payment"
	return ev
}

// requireRole refuses a signer without role.
func requireRole(env identity.Env, signer string, role identity.Role, what string) *tx.Error {
	if m := env.MissingRole(signer, role, what); m != "" {
		return Space.Err(CodeUnauthorized, "%s", m)
	}
	return nil
}
