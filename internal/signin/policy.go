package signin

import (
	"fmt"
	"time"
)

// Entry is where a person signs in.
type Entry int

const (
	// Portal is the web portal: passphrase, then a TOTP code or a passkey; an identity with no
	// second factor enrols one right after its passphrase (trust on first use).
	Portal Entry = iota + 1
	// Gateway is the FHIR gateway's person login: passphrase and TOTP code in one request.
	Gateway
)

func (e Entry) String() string {
	switch e {
	case Portal:
		return "portal"
	case Gateway:
		return "fhir"
	}
	return "unknown"
}

// Roles as the ledger names them; kept as strings so this package needs no ledger code.
const (
	RolePatient   = "patient"
	RoleProvider  = "provider"
	RoleRegistrar = "registrar"
	RoleAuditor   = "auditor"
	RoleInsurer   = "insurer"
)

// Limits bound failed attempts.
type Limits struct {
	MaxFailures  int           // failures in a row per identity before it is locked; default 5
	MaxPerRemote int           // failures in a row per client address; default 4 × MaxFailures
	Window       time.Duration // a lock lasts this long after the last failure; default 15 min
}

func (l Limits) withDefaults() Limits {
	if l.MaxFailures <= 0 {
		l.MaxFailures = 5
	}
	if l.MaxPerRemote <= 0 {
		l.MaxPerRemote = 4 * l.MaxFailures
	}
	if l.Window <= 0 {
		l.Window = 15 * time.Minute
	}
	return l
}

// Failures is a run of failed attempts: failures more than a window apart start a new run,
// and a complete sign-in ends it.
type Failures struct {
	Count int       `json:"count,omitempty"`
	Last  time.Time `json:"last,omitzero"`
}

// Add returns the run with one more failure at now.
func (f Failures) Add(now time.Time, window time.Duration) Failures {
	if f.Count == 0 || !now.Before(f.Last.Add(window)) {
		return Failures{Count: 1, Last: now}
	}
	return Failures{Count: f.Count + 1, Last: now}
}

// lockedUntil is when a run of failures stops locking (zero: it does not lock at now).
func (f Failures) lockedUntil(max int, window time.Duration, now time.Time) time.Time {
	if f.Count < max {
		return time.Time{}
	}
	if until := f.Last.Add(window); now.Before(until) {
		return until
	}
	return time.Time{}
}

// Facts are what is known about a sign-in attempt before its passphrase is tried. The caller
// gathers them (keystore, ledger, factor store, failure counts); Decide only judges.
type Facts struct {
	Entry    Entry
	Now      time.Time
	Identity Failures // of the identity named (or, if the name is no keystore, of the name)
	Remote   Failures // of the client address
	Known    bool     // the name is a keystore on this node whose identity is on the ledger
	Active   bool     // that identity is active, with the keystore's key as its current key
	Role     string   // that identity's role on the ledger
	TOTP     bool     // it has an authenticator app (TOTP) enrolled on this node
	Unlocked bool     // gateway: its keystore is unlocked on this node (start --fhir-unlock)
}

// Reason says why a sign-in is allowed or refused. Codes are stable and append-only.
type Reason int

const (
	Undecided           Reason = iota // the zero value: refused
	Allowed                           // passphrase and second factor may now be checked
	Locked                            // too many failures in a row, for the identity or the client address
	Unknown                           // no keystore of that name, or its identity is not on the ledger
	Deactivated                       // the identity is deactivated, or the keystore's key is not its current key
	RegistrarRefused                  // the registrar never acts through a person login at the gateway
	ServiceRoleRefused                // auditors and insurers do not log in as persons at the gateway
	ProviderNotUnlocked               // a provider logs in at a gateway only if unlocked on it
	NoSecondFactor                    // no second factor the entry point can check is enrolled
)

// Decision is the outcome of Decide. The zero value refuses.
type Decision struct {
	Allowed bool
	Reason  Reason
	Until   time.Time // Locked: when the lock ends
	Role    string
}

// Decide judges a sign-in attempt from its facts, deny by default. Locked is the only refusal
// the caller may tell before the passphrase is proven (it spares the key derivation work);
// every other refusal is told only to someone who knows the passphrase, so a name's role or
// state is not revealed to a guesser. An allowed attempt still needs its passphrase and
// second factor checked by the caller.
func Decide(f Facts, l Limits) Decision {
	l = l.withDefaults()
	d := Decision{Role: f.Role}
	until := f.Identity.lockedUntil(l.MaxFailures, l.Window, f.Now)
	if r := f.Remote.lockedUntil(l.MaxPerRemote, l.Window, f.Now); r.After(until) {
		until = r
	}
	switch {
	case f.Entry != Portal && f.Entry != Gateway:
		return d
	case !until.IsZero():
		d.Reason, d.Until = Locked, until
		return d
	case !f.Known:
		d.Reason = Unknown
		return d
	case !f.Active:
		d.Reason = Deactivated
		return d
	}
	if f.Entry == Portal {
		// Every role may manage its own sign-in security at the portal; pages are per role.
		d.Allowed, d.Reason = true, Allowed
		return d
	}
	switch f.Role {
	case RolePatient:
	case RoleProvider:
		if !f.Unlocked {
			d.Reason = ProviderNotUnlocked
			return d
		}
	case RoleRegistrar:
		d.Reason = RegistrarRefused
		return d
	case RoleAuditor, RoleInsurer:
		d.Reason = ServiceRoleRefused
		return d
	default:
		return d
	}
	if !f.TOTP {
		d.Reason = NoSecondFactor
		return d
	}
	d.Allowed, d.Reason = true, Allowed
	return d
}

// Message says, to the person refused, why and what to do instead.
func (d Decision) Message() string {
	switch d.Reason {
	case Allowed:
		return "allowed"
	case Locked:
		return fmt.Sprintf("too many failed sign-ins: try again after %s", d.Until.UTC().Format("15:04:05 UTC"))
	case Unknown:
		return "this keystore's identity is not registered on this chain"
	case Deactivated:
		return "this identity is deactivated, or the keystore does not hold its current key"
	case RegistrarRefused:
		return "the registrar never gets a gateway token: register and manage identities with the ehrchain command line on the node (ehrchain identity ...)"
	case ServiceRoleRefused:
		return "auditors and insurers do not log in as persons: their system authenticates with a signed JWT at /fhir/r4/auth/token while its keystore is unlocked on the node (start --fhir-unlock); people use the web portal"
	case ProviderNotUnlocked:
		return "this provider is not unlocked on this gateway: a provider logs in here only if the node operator starts the node with --fhir-unlock for their keystore"
	case NoSecondFactor:
		return "a second factor is required: sign in once at the web portal (/portal/) and enrol an authenticator app, then send its current code as otp"
	}
	return "sign-in refused"
}

// String names the reason in the sign-in log.
func (r Reason) String() string {
	switch r {
	case Allowed:
		return "allowed"
	case Locked:
		return "locked"
	case Unknown:
		return "unknown identity"
	case Deactivated:
		return "identity deactivated"
	case RegistrarRefused:
		return "registrar refused"
	case ServiceRoleRefused:
		return "role refused"
	case ProviderNotUnlocked:
		return "provider not unlocked"
	case NoSecondFactor:
		return "no second factor enrolled"
	}
	return "undecided"
}
