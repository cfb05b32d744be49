package admission

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// Limit is what one identity may add in one window. Zero in a field means no limit on it.
type Limit struct {
	Bytes int64 `json:"bytes"`
	Txs   int64 `json:"txs"`
}

// Budgets are a chain's limits per role, fixed at genesis.
type Budgets struct {
	// Off charges nothing at all: only for benchmarks that measure what budgets cost.
	Off           bool  `json:"off,omitempty"`
	WindowSeconds int64 `json:"window_seconds"`
	Patient       Limit `json:"patient"`
	Provider      Limit `json:"provider"`
	Registrar     Limit `json:"registrar"`
	Insurer       Limit `json:"insurer"`
	Auditor       Limit `json:"auditor"`
	// Sponsored bounds all the patients one institution registered, together; Open bounds
	// all self-registered patients together (their registrations included). A Sybil
	// attacker's identities share one of these, so their number buys nothing.
	Sponsored Limit `json:"sponsored"`
	Open      Limit `json:"open"`
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

// Defaults are sized from the work each role does in an hour. A provider importing a
// hospital's history (the 40 Synthea patients are 8,138 records, about 33 MB) stays inside
// one window; a patient's grants, revocations and own notes need a few hundred
// transactions a day. Any identity over its budget waits for the next window.
func Defaults() Budgets {
	return Budgets{
		WindowSeconds: 3600,
		Patient:       Limit{Bytes: 1 * mib, Txs: 200},
		Provider:      Limit{Bytes: 64 * mib, Txs: 20_000},
		Registrar:     Limit{Bytes: 64 * mib, Txs: 50_000},
		Insurer:       Limit{Bytes: 16 * mib, Txs: 10_000},
		Auditor:       Limit{Bytes: 4 * mib, Txs: 2_000},
		Sponsored:     Limit{Bytes: 256 * mib, Txs: 200_000},
		Open:          Limit{Bytes: 16 * mib, Txs: 5_000},
	}
}

// For is a role's limit; an unknown role gets the patient's, the smallest. A supply-chain
// trading partner capturing a warehouse's events does a provider's volume of work.
func (b Budgets) For(r identity.Role) Limit {
	switch r {
	case identity.Provider, identity.Manufacturer, identity.Repackager, identity.Wholesaler, identity.Dispenser, identity.Regulator:
		return b.Provider
	case identity.Registrar:
		return b.Registrar
	case identity.Insurer:
		return b.Insurer
	case identity.Auditor:
		return b.Auditor
	}
	return b.Patient
}

// Validate says what is wrong with a genesis's budgets.
func (b Budgets) Validate() error {
	if b.WindowSeconds <= 0 {
		return fmt.Errorf("budgets: window_seconds %d must be positive", b.WindowSeconds)
	}
	for _, l := range []struct {
		role string
		Limit
	}{{"patient", b.Patient}, {"provider", b.Provider}, {"registrar", b.Registrar}, {"insurer", b.Insurer}, {"auditor", b.Auditor}, {"sponsored", b.Sponsored}, {"open", b.Open}} {
		if l.Bytes < 0 || l.Txs < 0 {
			return fmt.Errorf("budgets: %s limit %+v must not be negative (0 is no limit)", l.role, l.Limit)
		}
	}
	return nil
}

// An Account is one budget a transaction is charged to, kept in the state at Key.
type Account struct {
	Key   []byte
	Limit Limit
	Who   string // for the refusal: "this identity", "the patients registered by ..."
}

// OpenSponsor stands for the sponsor of self-registered patients.
const OpenSponsor = "open"

// Accounts are the budgets a transaction by identity id charges: its own, and for a
// patient the pool of whoever registered it (sponsor: a provider's id, or OpenSponsor for a
// self-registration; "" for none).
func (b Budgets) Accounts(id string, role identity.Role, sponsor string) []Account {
	acc := []Account{{Key: Key(id), Limit: b.For(role), Who: "this identity"}}
	switch {
	case role != identity.Patient || sponsor == "":
	case sponsor == OpenSponsor:
		acc = append(acc, Account{Key: []byte("adm/open"), Limit: b.Open, Who: "all self-registered patients together"})
	default:
		acc = append(acc, Account{Key: []byte("adm/spon/" + sponsor), Limit: b.Sponsored, Who: "the patients registered by " + sponsor + " together"})
	}
	return acc
}
