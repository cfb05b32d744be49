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
//
// For state sync, an Export writes one committed height as a deterministic byte stream (the
// map's IAVL export, the raw log leaves, the index entries, the commit record) from a
// checkpoint of the database, while later blocks commit; Restore rebuilds an empty store from such a stream and
// commits it only if the recomputed app hash equals the one the chain's header gives. The
// indexes are not under the app hash: a restored node holds the ones its snapshot's peers
// sent, protected by the snapshot's chunk hashes, not by the validators' signatures.
package state
