// Package records is the index of encrypted patient records: ids, versions, categories,
// digests and wrapped data keys, never plaintext and never an unwrapped key.
//
// A record version is written once. Its metadata (with both wrapped keys and the ciphertext
// digest) is stored under its own SHA-256 digest, and the audit event that the write appends
// to the Merkle log names that digest: the app hash therefore covers every byte a reader will
// be given. Small ciphertexts are kept in the state database; larger ones go to the blob
// store and only their digest is on chain.
//
// Reads are requests signed by the requester, batched into blocks (ReadBatch). Each request
// is decided by access.Decide at commit and leaves an audit event; the serving node releases
// the ciphertext only after that event is committed.
package records
