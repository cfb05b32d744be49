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
	WindowSeconds int64 `json:"window_seconds"`
	Patient       Limit `json:"patient"`
	Provider      Limit `json:"provider"`
	Registrar     Limit `json:"registrar"`
	Insurer       Limit `json:"insurer"`
	Auditor       Limit `json:"auditor"`
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
	}
}

// For is a role's limit; an unknown role gets the patient's, the smallest.
func (b Budgets) For(r identity.Role) Limit {
	switch r {
	case identity.Provider:
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
	}{{"patient", b.Patient}, {"provider", b.Provider}, {"registrar", b.Registrar}, {"insurer", b.Insurer}, {"auditor", b.Auditor}} {
		if l.Bytes < 0 || l.Txs < 0 {
			return fmt.Errorf("budgets: %s limit %+v must not be negative (0 is no limit)", l.role, l.Limit)
		}
	}
	return nil
}
