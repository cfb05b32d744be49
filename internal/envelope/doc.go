// Package envelope encrypts health records on the client before they reach
// the chain, so nodes only ever hold ciphertext.
//
// Each record version is sealed with AES-256-GCM under a fresh random 32-byte
// data key (Seal). The associated data (AAD) names the record id, version,
// patient and category, so a ciphertext moved to another record fails to
// open. The data key is then wrapped separately for every reader with
// single-shot HPKE (ML-KEM-768+X25519, HKDF-SHA256, AES-256-GCM) (WrapKey).
// The HPKE info is "ehrchain/wrap/v1" followed by the same AAD, so a wrapped
// key is bound to its record too. Granting a new reader means wrapping the
// data key once more; the record ciphertext is not touched.
package envelope
