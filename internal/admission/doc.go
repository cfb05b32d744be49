// Package admission bounds what one identity may add to the ledger: a budget of bytes and
// transactions per window of block time, sized per role and fixed in genesis. Every node
// charges it at CheckTx (with what the mempool already holds) and again at execution, so a
// proposer cannot get around it either. The decision is pure: usage and limits in, new
// usage or a coded refusal out.
package admission
