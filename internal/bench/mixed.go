package bench

import (
	"github.com/ehrchain/ehrchain/internal/keys"
)

// The shares of a mixed workload's operations: a hospital day is mostly chart reads.
const (
	mixedReadPct  = 80
	mixedGrantPct = 4 // grants and revocations together; the rest are writes
)

// prepareMixed runs reads, writes, and grants with revocations at once, in the proportions
// above. Reads are of records written in setup under standing grants of the general
// category; grants and revocations churn a second category so that the key rotations they
// cause do not void the writes signed in advance for the first.
func prepareMixed(chainID string, reg *keys.Keystore, regSeq uint64, txs, actors int) (*workload, error) {
	p := max(1, min(actors, txs))
	c, err := newCast(Mixed, chainID, reg, regSeq, p, "general", "mental-health")
	if err != nil {
		return nil, err
	}
	nreads := txs * mixedReadPct / 100
	nchurn := txs * mixedGrantPct / 100
	nwrites := txs - nreads - nchurn

	grants, err := c.readGrants("general", 1)
	if err != nil {
		return nil, err
	}
	stored := spread(min(max(nreads, 1), 20*p), p)
	old, ids, err := c.writes(stored, nil)
	if err != nil {
		return nil, err
	}
	w := &workload{name: Mixed, setup: append(c.setup, grants, old), txs: txs}

	// Provider i continues after its setup writes; patient i after its standing grant.
	next := make([]uint64, p)
	for i := range p {
		next[i] = uint64(1 + stored[i])
	}
	streams, _, err := c.writes(spread(nwrites, p), next)
	if err != nil {
		return nil, err
	}
	churn, err := c.churn("mental-health", spread(nchurn, p), 2)
	if err != nil {
		return nil, err
	}
	for i := range p {
		w.streams = append(w.streams, streams[i], churn[i])
		w.kinds = append(w.kinds, Write, GrantRevoke)
	}
	w.count()
	w.reads, w.readers = c.reads(ids, nreads), c.providers
	return w, nil
}
