package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// FileVersion is the keystore file format version written by Encrypt.
const FileVersion = 1

// MaxFileSize bounds what Decrypt and PublicInfo will parse, so a hostile
// file cannot make them allocate without limit.
const MaxFileSize = 8 << 20

// aadDomain separates keystore associated data from every other use of the
// same primitives.
const aadDomain = "ehrchain/keystore/v1"

const (
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// fileV1 is the on-disk layout. Everything except nonce and ciphertext is
// public and bound into the AEAD associated data.
type fileV1 struct {
	Version    uint32  `json:"version"`
	Name       string  `json:"name"`
	ID         string  `json:"id"`
	SignPublic b64     `json:"sign_public"`
	EncPublic  b64     `json:"enc_public"`
	KDF        kdfJSON `json:"kdf"`
	Nonce      b64     `json:"nonce"`
	Ciphertext b64     `json:"ciphertext"`
}

type kdfJSON struct {
	Alg       string `json:"alg"`
	Salt      b64    `json:"salt"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

func (k kdfJSON) params() KDFParams {
	return KDFParams{Time: k.Time, MemoryKiB: k.MemoryKiB, Threads: k.Threads}
}

// Info is the public part of a keystore file. It is not authenticated:
// only Decrypt proves the file is intact.
type Info struct {
	Name, ID   string
	SignPublic ed25519.PublicKey
	EncPublic  []byte
}

// aad binds every public field of the file, so none can be swapped without
// the seal failing.
func (f *fileV1) aad() []byte {
	b := []byte(aadDomain)
	b = binary.BigEndian.AppendUint32(b, f.Version)
	b = appendField(b, []byte(f.Name))
	b = appendField(b, []byte(f.ID))
	b = appendField(b, f.SignPublic)
	b = appendField(b, f.EncPublic)
	b = appendField(b, []byte(f.KDF.Alg))
	b = appendField(b, f.KDF.Salt)
	b = binary.BigEndian.AppendUint32(b, f.KDF.Time)
	b = binary.BigEndian.AppendUint32(b, f.KDF.MemoryKiB)
	b = append(b, f.KDF.Threads)
	return b
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Encrypt serialises ks to a versioned JSON keystore file. All private keys
// (current, previous and category) are sealed with AES-256-GCM under
// Argon2id(passphrase, random 16-byte salt); the public fields are the
// associated data.
func Encrypt(ks *Keystore, passphrase []byte, p KDFParams) ([]byte, error) {
	if ks == nil {
		return nil, fmt.Errorf("%w: nil keystore", ErrInvalidKeystore)
	}
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if !ValidName(ks.Name) {
		return nil, fmt.Errorf("%w: %q", ErrBadName, ks.Name)
	}
	if !ValidID(ks.ID) {
		return nil, fmt.Errorf("%w: id %q is not %d lowercase hex characters", ErrInvalidKeystore, ks.ID, IDLen)
	}
	if ks.Keys == nil {
		return nil, fmt.Errorf("%w: no current keys", ErrInvalidKeystore)
	}
	secret, err := marshalSecret(ks)
	if err != nil {
		return nil, err
	}
	defer clear(secret)

	f := fileV1{
		Version:    FileVersion,
		Name:       ks.Name,
		ID:         ks.ID,
		SignPublic: b64(ks.Keys.SignPublic()),
		EncPublic:  ks.Keys.EncPublic(),
		KDF: kdfJSON{
			Alg:       kdfAlg,
			Salt:      make([]byte, saltSize),
			Time:      p.Time,
			MemoryKiB: p.MemoryKiB,
			Threads:   p.Threads,
		},
		Nonce: make([]byte, gcmNonceSize),
	}
	rand.Read(f.KDF.Salt)
	rand.Read(f.Nonce)

	key := deriveKey(passphrase, f.KDF.Salt, p)
	defer clear(key)
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	f.Ciphertext = aead.Seal(nil, f.Nonce, secret, f.aad())

	out, err := json.MarshalIndent(&f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("keys: encode keystore: %w", err)
	}
	return append(out, '\n'), nil
}

// Decrypt parses and opens a keystore file. A failed seal is reported as
// ErrWrongPassphrase; anything structurally wrong as ErrMalformed with
// detail. KDF parameters are range-checked before Argon2id runs.
func Decrypt(data, passphrase []byte) (*Keystore, error) {
	f, err := parseFile(data)
	if err != nil {
		return nil, err
	}
	key := deriveKey(passphrase, f.KDF.Salt, f.KDF.params())
	defer clear(key)
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	secret, err := aead.Open(nil, f.Nonce, f.Ciphertext, f.aad())
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	defer clear(secret)

	ks := &Keystore{Name: f.Name, ID: f.ID}
	if err := unmarshalSecret(ks, secret); err != nil {
		return nil, err
	}
	// The header public keys are what others see; they must be the current
	// pair's, or the file was written inconsistently.
	if !bytes.Equal(ks.Keys.SignPublic(), f.SignPublic) || !bytes.Equal(ks.Keys.EncPublic(), f.EncPublic) {
		return nil, fmt.Errorf("%w: public keys do not match the sealed current keys", ErrMalformed)
	}
	return ks, nil
}

// PublicInfo reads name, id and public keys without the passphrase. The
// result is validated for form but not authenticated.
func PublicInfo(data []byte) (Info, error) {
	f, err := parseFile(data)
	if err != nil {
		return Info{}, err
	}
	return Info{
		Name:       f.Name,
		ID:         f.ID,
		SignPublic: ed25519.PublicKey(bytes.Clone(f.SignPublic)),
		EncPublic:  bytes.Clone(f.EncPublic),
	}, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// parseFile decodes a keystore file strictly (no unknown fields, no trailing
// data) and checks every field's form, so nothing unchecked reaches Argon2id
// or AES-GCM.
func parseFile(data []byte) (*fileV1, error) {
	if len(data) > MaxFileSize {
		return nil, malformed("file is %d bytes, limit %d", len(data), MaxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f fileV1
	if err := dec.Decode(&f); err != nil {
		return nil, malformed("%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed("trailing data after JSON object")
	}
	if f.Version != FileVersion {
		return nil, malformed("unsupported version %d (want %d)", f.Version, FileVersion)
	}
	if !ValidName(f.Name) {
		return nil, malformed("bad name %q", f.Name)
	}
	if !ValidID(f.ID) {
		return nil, malformed("bad id %q", f.ID)
	}
	if len(f.SignPublic) != ed25519.PublicKeySize {
		return nil, malformed("sign_public is %d bytes, want %d", len(f.SignPublic), ed25519.PublicKeySize)
	}
	if _, err := ParseEncPublic(f.EncPublic); err != nil {
		return nil, malformed("enc_public: %v", err)
	}
	if f.KDF.Alg != kdfAlg {
		return nil, malformed("unsupported kdf %q", f.KDF.Alg)
	}
	if len(f.KDF.Salt) != saltSize {
		return nil, malformed("salt is %d bytes, want %d", len(f.KDF.Salt), saltSize)
	}
	if err := f.KDF.params().Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(f.Nonce) != gcmNonceSize {
		return nil, malformed("nonce is %d bytes, want %d", len(f.Nonce), gcmNonceSize)
	}
	if len(f.Ciphertext) < gcmTagSize {
		return nil, malformed("ciphertext is %d bytes, too short", len(f.Ciphertext))
	}
	return &f, nil
}
