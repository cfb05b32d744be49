// Package erasure answers a patient's right to erasure on a ledger that never rewrites its
// history: crypto-shredding. An erasure transaction drops, at its block, what makes a record
// readable (its inline ciphertext, its stored metadata with the wrapped data keys) and, for
// a category or the whole chart, the patient's category keys (the published versions, every
// grant's key shares, the emergency escrows). Every node then deletes the record's blobs.
// What stays is what accountability needs: the record's digests (records.Tombstone), the
// audit events of everything done to it before, and the erasure's own event.
//
// A legal hold, placed by an auditor or the registrar on a patient or one record, refuses
// erasure while it lasts; placing and lifting it are audited.
//
// Copies outside the current state (unpruned blocks, old state versions, backups, a
// patient's or grantee's own key store) are not reached by a transaction; the threat model
// (docs/THREAT_MODEL.md, "Erasure") says which remain, until when, and why they are
// unreadable once the keys are gone.
package erasure
