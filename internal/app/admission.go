package app

import (
	"encoding/json"
	"time"

	"github.com/ehrchain/ehrchain/internal/admission"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// budgetsKey holds the chain's budgets (JSON), written at genesis. A chain created before
// budgets existed has none and charges nothing.
var budgetsKey = []byte("param/budgets")

// openKey marks, in the state, a chain whose patients may register themselves.
var openKey = []byte("param/open_registration")

func loadBudgets(r getter) *admission.Budgets {
	b := r.Get(budgetsKey)
	if b == nil {
		return nil
	}
	var bs admission.Budgets
	if json.Unmarshal(b, &bs) != nil || bs.Validate() != nil {
		return nil
	}
	return &bs
}

// checkSelfRegistration refuses a patient's self-registration (a transaction whose signer
// is not registered yet) unless the chain was created with open registration.
func checkSelfRegistration(r getter, signer *identity.Identity) *tx.Error {
	if signer == nil && r.Get(openKey) == nil {
		return admission.ErrClosed()
	}
	return nil
}

// accounts are the budgets d charges: its signer's, and for a patient the pool of whoever
// registered the patient (or of all self-registered patients).
func (a *App) accounts(d *decoded, signer *identity.Identity) []admission.Account {
	id := d.env.SignerID()
	if signer == nil { // a self-registration
		role := identity.Patient
		if reg, ok := d.body.(*identity.Register); ok {
			role = reg.Role
		}
		return a.budgets.Accounts(id, role, admission.OpenSponsor)
	}
	sponsor := signer.RegisteredBy
	if sponsor == signer.ID {
		sponsor = admission.OpenSponsor
	}
	return a.budgets.Accounts(id, signer.Role, sponsor)
}

// chargeAdmission charges d at CheckTx, on top of what the mempool already holds for the
// same accounts. a.mu is held; the new usage is kept as pending.
func (a *App) chargeAdmission(view getter, d *decoded, signer *identity.Identity) *tx.Error {
	acc := a.accounts(d, signer)
	usage := make([]admission.Usage, len(acc))
	for i, ac := range acc {
		u, ok := a.pendingUse[string(ac.Key)]
		if !ok {
			u = admission.DecodeUsage(view.Get(ac.Key))
		}
		usage[i] = u
	}
	// Judged at the last block's time; after a restart, before any block, within the
	// window of the identity's last usage (never a fresh window).
	at := usage[0].Window * a.budgets.WindowSeconds
	if ns := a.lastBT.Load(); ns != 0 {
		at = time.Unix(0, ns).Unix()
	}
	next, err := admission.ChargeAll(acc, usage, a.budgets.WindowSeconds, at, d.size)
	if err != nil {
		return err
	}
	for i, ac := range acc {
		a.pendingUse[string(ac.Key)] = next[i]
	}
	return nil
}

// chargeBlock charges d at execution, at the block's time. The charge stands whether or
// not the transaction then succeeds: its bytes are in the block either way.
func (a *App) chargeBlock(w interface {
	getter
	Set(k, v []byte)
}, d *decoded, signer *identity.Identity, at time.Time) *tx.Error {
	acc := a.accounts(d, signer)
	usage := make([]admission.Usage, len(acc))
	for i, ac := range acc {
		usage[i] = admission.DecodeUsage(w.Get(ac.Key))
	}
	next, err := admission.ChargeAll(acc, usage, a.budgets.WindowSeconds, at.Unix(), d.size)
	if err != nil {
		return err
	}
	for i, ac := range acc {
		w.Set(ac.Key, next[i].Encode())
	}
	return nil
}
