package app

import (
	"bytes"
	"fmt"
	"sort"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/validators"
)

// noteValidator remembers, before a validator transaction runs, the power the address had
// when the block started, so the block reports only net changes: CometBFT refuses a block
// whose updates name a key twice or remove a key that is not in the set.
func (a *App) noteValidator(body any) {
	var addr string
	switch b := body.(type) {
	case *validators.Set:
		if len(b.PubKey) == 0 {
			return
		}
		addr = validators.Address(b.PubKey)
	case *validators.Remove:
		addr = b.Address
	default:
		return
	}
	if _, seen := a.valBefore[addr]; !seen {
		a.valBefore[addr] = validators.Power(a.st, addr)
	}
}

// validatorUpdates are the block's net validator set changes, in address order.
func (a *App) validatorUpdates() []abci.ValidatorUpdate {
	addrs := make([]string, 0, len(a.valBefore))
	for addr := range a.valBefore {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	var out []abci.ValidatorUpdate
	for _, addr := range addrs {
		v := validators.Get(a.st, addr)
		if v == nil || v.Power == a.valBefore[addr] {
			continue
		}
		out = append(out, abci.Ed25519ValidatorUpdate(v.PubKey, v.Power))
	}
	clear(a.valBefore)
	return out
}

// initValidators records the genesis validators with their institutions. Every validator
// CometBFT's genesis names must be listed in the application genesis and the reverse, so the
// on-chain set starts equal to the consensus set.
func (a *App) initValidators(st validators.Store, g *GenesisState, vals []abci.ValidatorUpdate) error {
	byAddr := map[string]GenesisValidator{}
	for _, gv := range g.Validators {
		byAddr[validators.Address(gv.PubKey)] = gv
	}
	if len(g.Validators) > 0 && len(g.Validators) != len(vals) {
		return fmt.Errorf("application genesis lists %d validators but the consensus genesis has %d", len(g.Validators), len(vals))
	}
	for _, v := range vals {
		pub := v.PubKey.GetEd25519()
		if len(pub) == 0 {
			return fmt.Errorf("genesis validator with a non-Ed25519 key: only Ed25519 consensus keys are supported")
		}
		addr := validators.Address(pub)
		gv, ok := byAddr[addr]
		switch {
		case len(g.Validators) == 0:
			// A genesis from before institutions were recorded: keep the validator, unnamed.
			gv = GenesisValidator{Institution: "unnamed", PubKey: pub}
		case !ok:
			return fmt.Errorf("genesis validator %s has no institution in the application genesis", addr)
		case !bytes.Equal(gv.PubKey, pub) || gv.Power != v.Power:
			return fmt.Errorf("genesis validator %s: application genesis says power %d, consensus genesis %d", addr, gv.Power, v.Power)
		}
		validators.PutGenesis(st, &validators.Validator{Address: addr, PubKey: pub, Power: v.Power,
			Institution: gv.Institution, Name: gv.Name})
	}
	return nil
}
