package identity

import (
	"fmt"
	"strings"

	"github.com/ehrchain/ehrchain/internal/audit"
)

// Event starts the audit event of an act that succeeded in env: where it happened (height,
// block time, transaction), what it was and who did it. Each domain adds what it records
// about the actor's role and the act's subject; SignerEvent adds the usual part.
func (env Env) Event(actor, action string) *audit.Event {
	return &audit.Event{Height: env.Height, Time: env.Time, Tx: env.TxHash, Action: action,
		Outcome: audit.Success, Actor: actor}
}

// SignerEvent is Event with the signer's role and organization, when there is a signer.
func (env Env) SignerEvent(actor, action string) *audit.Event {
	ev := env.Event(actor, action)
	if env.Signer != nil {
		ev.ActorRole, ev.Organization = string(env.Signer.Role), env.Signer.Organization
	}
	return ev
}

// MissingRole is the message refusing the signer of env for lacking role, or "" if the
// signer has it. what completes "only a provider ..." ("submits claims", "may declare an
// emergency"). Each domain returns the message under its own code.
func (env Env) MissingRole(signer string, role Role, what string) string {
	if env.Signer != nil && env.Signer.Role == role {
		return ""
	}
	return fmt.Sprintf("only %s %s; the signer %s is not one", role.withArticle(), what, signer)
}

// withArticle is the role with its indefinite article ("a provider", "an insurer").
func (r Role) withArticle() string {
	if r != "" && strings.ContainsRune("aeiou", rune(r[0])) {
		return "an " + string(r)
	}
	return "a " + string(r)
}
