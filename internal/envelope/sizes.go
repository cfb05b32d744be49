package envelope

// Sizes, checked by tests against real outputs.
const (
	// DataKeySize is the AES-256 record key size.
	DataKeySize = 32
	// NonceSize is the random GCM nonce prepended to a record ciphertext.
	NonceSize = 12
	// TagSize is the GCM authentication tag appended to a record ciphertext.
	TagSize = 16
	// Overhead is len(Seal output) - len(plaintext): nonce plus tag.
	Overhead = NonceSize + TagSize // 28

	// EncPublicKeySize is a recipient's HPKE public key: ML-KEM-768
	// encapsulation key (1184) plus X25519 point (32).
	EncPublicKeySize = 1216
	// EncapsulatedKeySize is the HPKE enc for ML-KEM-768+X25519: ML-KEM-768
	// ciphertext (1088) plus X25519 ephemeral point (32).
	EncapsulatedKeySize = 1120
	// WrappedKeySize is len(WrapKey output) for a 32-byte data key:
	// enc (1120) + encrypted key (32) + tag (16).
	WrappedKeySize = EncapsulatedKeySize + DataKeySize + TagSize // 1168
	// SelfWrappedKeySize is len(WrapKeyToSelf output): nonce (12) + encrypted key (32) +
	// tag (16).
	SelfWrappedKeySize = NonceSize + DataKeySize + TagSize // 60
)
