package bench

import (
	"github.com/ehrchain/ehrchain/internal/keys"
)

// prepareGrantRevoke has actors patients alternately grant a provider read access to their
// general records and revoke it again; each revocation carries a fresh category key.
func prepareGrantRevoke(chainID string, reg *keys.Keystore, regSeq uint64, txs, actors int) (*workload, error) {
	p := max(1, min(actors, txs))
	c, err := newCast(GrantRevoke, chainID, reg, regSeq, p, "general")
	if err != nil {
		return nil, err
	}
	w := &workload{name: GrantRevoke, setup: c.setup, txs: txs}
	if w.streams, err = c.churn("general", spread(txs, p), 1); err != nil {
		return nil, err
	}
	w.count()
	return w, nil
}
