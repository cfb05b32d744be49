// Package state is the only package that touches the node's state database.
//
// Two structures are committed into the app hash:
//   - a Merkle map (IAVL) for the small mutable state: identities, sequences, grants, keys;
//   - an append-only RFC 6962 Merkle log for what never changes once written: record
//     entries and audit events. Its cost per append does not grow with its size.
//
// Both live in one pebble database, beside indexes (record versions, inline ciphertexts,
// read outcomes) written by the same blocks. They are not hashed separately: the log entry
// of each write carries the digest of what the index holds, and replaying the blocks
// rebuilds them.
//
// A block's writes are staged in memory (the IAVL working tree, the log's staged leaves, an
// index batch) and made durable by Commit in two steps: the IAVL version first, then one
// synced pebble batch holding the log, the indexes and the commit record (height, app hash).
// That batch is the commit point: at Open, an IAVL version newer than the commit record is
// rolled back, so a crash at any moment leaves the last fully committed height.
package state
