// Package app is the thin ABCI 2.0 adapter between CometBFT and the domain packages.
//
// CheckTx admits a transaction to the mempool after the envelope checks (size, decoding,
// chain id, signer, signature, sequence) and never writes state. FinalizeBlock runs every
// transaction of a decided block against the working state, each in its own overlay so a
// rejected transaction changes nothing (not even the signer's sequence), and returns the app
// hash. Commit makes the block durable. A rejected transaction is a result code; a broken
// node (a state fault) is an error, which halts consensus and stops the process.
//
// Signature checks dominate the cost of a transaction, so each node verifies a transaction's
// signature once: CheckTx remembers which key verified which transaction hash, and
// FinalizeBlock verifies only what it has not seen, in batches, before executing in order.
// A transaction's hash is likewise computed once per node (txMemo). At each commit the
// application publishes the block's blob references to the node's blob replicator (OnBlobs).
package app
