package app

import (
	"encoding/json"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/admission"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/identity"
)

// GenesisState is the application part of the genesis file.
type GenesisState struct {
	Registrars []GenesisIdentity `json:"registrars"`
	// Validators name the institution running each genesis validator (same keys and
	// powers as the consensus genesis). Empty in genesis files from before they were kept.
	Validators []GenesisValidator `json:"validators,omitempty"`
	Params
}

// Params are the rules a chain is created with. They are written to the state at genesis,
// so every node judges by the same ones.
type Params struct {
	// AllowNoop enables the no-op transaction, which only benchmark chains need: on a live
	// chain it would let any identity add arbitrary bytes to every node's disk.
	AllowNoop bool `json:"allow_noop,omitempty"`
	// OpenRegistration lets patients register themselves, all of them together within the
	// budgets' open pool. Without it a provider registers each patient (with the patient's
	// key), so every identity has an accountable sponsor.
	OpenRegistration bool `json:"open_registration,omitempty"`
	// Budgets bound what each identity may add per window, by role. A genesis without them
	// gets admission.Defaults(); a zero limit is no limit.
	Budgets *admission.Budgets `json:"budgets,omitempty"`
	// Retention is how long each category's records are kept after their last write ("*":
	// every category without its own); the registrar changes it later by transaction.
	// Without it nothing expires.
	Retention []erasure.RetentionRule `json:"retention,omitempty"`
}

// GenesisValidator ties a genesis validator's consensus key to an institution.
type GenesisValidator struct {
	Institution string `json:"institution"`
	Name        string `json:"name,omitempty"`
	PubKey      []byte `json:"pub_key"` // Ed25519 consensus key
	Power       int64  `json:"power"`
}

// GenesisIdentity is an identity created at genesis.
type GenesisIdentity struct {
	Name         string `json:"name"`
	Organization string `json:"organization,omitempty"`
	SignKey      []byte `json:"sign_key"`
	EncKey       []byte `json:"enc_key"`
}

// ParseGenesis validates the application genesis state.
func ParseGenesis(b []byte) (*GenesisState, error) {
	var g GenesisState
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("application genesis state: %w", err)
	}
	if len(g.Registrars) == 0 {
		return nil, fmt.Errorf("application genesis state names no registrar")
	}
	if g.Budgets == nil {
		d := admission.Defaults()
		g.Budgets = &d
	}
	if err := g.Budgets.Validate(); err != nil {
		return nil, fmt.Errorf("application genesis state: %w", err)
	}
	if _, err := erasure.GenesisPolicies(g.Retention); err != nil {
		return nil, fmt.Errorf("application genesis state: %w", err)
	}
	return &g, nil
}

func (g GenesisIdentity) identity() *identity.Identity {
	return &identity.Identity{Role: identity.Registrar, Name: g.Name, Organization: g.Organization,
		SignKey: g.SignKey, EncKey: g.EncKey, KeyVersion: 1, Active: true, RegisteredBy: "genesis"}
}
