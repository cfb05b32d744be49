// Package keys holds actor identities and the passphrase-encrypted
// keystores that carry them.
//
// An identity is an Ed25519 signing key plus an HPKE (ML-KEM-768+X25519)
// encryption key. The identity id is derived from the first signing key and
// never changes, so rotating keys does not change who an actor is. Previous
// encryption keys are kept after a rotation so records wrapped to them stay
// readable.
//
// A keystore file is JSON whose public part (name, id, public keys, KDF
// parameters) is readable without the passphrase and whose private keys are
// sealed with AES-256-GCM under an Argon2id-derived key. The public part is
// the associated data of that seal, so none of it can be altered or swapped
// without the passphrase holder noticing.
package keys
