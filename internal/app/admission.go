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

// roleOf is the role whose budget a transaction is charged to: the signer's, or for a
// self-registration the role being registered.
func roleOf(signer *identity.Identity, body any) identity.Role {
	if signer != nil {
		return signer.Role
	}
	if reg, ok := body.(*identity.Register); ok {
		return reg.Role
	}
	return identity.Patient
}

// chargeAdmission charges d to its signer at CheckTx, on top of what the mempool already
// holds from that signer. a.mu is held. It returns the usage to keep as pending.
func (a *App) chargeAdmission(view getter, d *decoded, signer *identity.Identity) (admission.Usage, *tx.Error) {
	id := d.env.SignerID()
	u, ok := a.pendingUse[id]
	if !ok {
		u = admission.DecodeUsage(view.Get(admission.Key(id)))
	}
	// Judged at the last block's time; after a restart, before any block, within the
	// window of the last usage (never a fresh window).
	at := u.Window * a.budgets.WindowSeconds
	if ns := a.lastBT.Load(); ns != 0 {
		at = time.Unix(0, ns).Unix()
	}
	return admission.Charge(a.budgets.For(roleOf(signer, d.body)), a.budgets.WindowSeconds, u, at, d.size)
}

// chargeBlock charges d to its signer at execution, at the block's time. The charge stands
// whether or not the transaction then succeeds: its bytes are in the block either way.
func (a *App) chargeBlock(w interface {
	getter
	Set(k, v []byte)
}, d *decoded, signer *identity.Identity, at time.Time) *tx.Error {
	key := admission.Key(d.env.SignerID())
	u, err := admission.Charge(a.budgets.For(roleOf(signer, d.body)), a.budgets.WindowSeconds,
		admission.DecodeUsage(w.Get(key)), at.Unix(), d.size)
	if err != nil {
		return err
	}
	w.Set(key, u.Encode())
	return nil
}
