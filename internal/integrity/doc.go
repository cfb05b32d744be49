// Package integrity re-checks what a node stored against what the validators signed, and
// builds and checks offline proofs of audit events.
//
// Verify walks a stopped node's home: every block against its part-set hash, its header hash,
// the previous block and the commit signatures of the validator set at its height; the
// consensus state (validators, parameters, results) against the headers; a replay of every
// block through a fresh application against the app hash each next header carries; and the
// application's state database, whose roots are recomputed from the raw leaves and compared
// with the replayed state entry by entry. It reports the first height at which anything
// disagrees.
//
// A Proof ties one event of the append-only log to a block hash the verifier already trusts:
// leaf -> RFC 6962 inclusion path -> log root; (map root, log root, log size) -> app hash;
// app hash -> header of the next block -> block hash. VerifyProof needs no node.
package integrity
