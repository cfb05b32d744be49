package emergency

import (
	"bytes"
	"crypto/hpke"
	"errors"
	"fmt"

	"github.com/openbao/openbao/sdk/v2/helper/shamir"

	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// Client-side escrow cryptography. Shamir splitting is the Vault implementation (GF(256),
// random non-zero x coordinates, one byte of tag per share); sealing is single-shot HPKE
// with the system's suite (ML-KEM-768+X25519, HKDF-SHA256, AES-256-GCM). Nodes never run
// any of this: they only check sizes and who may release what.

const (
	// ShareSize is one Shamir share of a 32-byte category key seed.
	ShareSize = keys.EncPrivateKeySize + shamir.ShareOverhead
	// SealedShareSize is a share sealed with HPKE: encapsulated key (1120) + share + tag.
	SealedShareSize = 1120 + ShareSize + 16

	sealDomain = "ehrchain/escrow/v1"
)

var (
	kem  = hpke.MLKEM768X25519()
	kdf  = hpke.HKDFSHA256()
	aead = hpke.AES256GCM()
)

// ErrReconstruct means the shares did not rebuild the escrowed key: too few, wrong or
// tampered.
var ErrReconstruct = errors.New("emergency: the shares do not rebuild the escrowed category key")

// escrowAAD binds a share sealed to a custodian to its patient, category, key version and
// custodian.
func escrowAAD(patient, category string, version uint32, custodian string) []byte {
	return envelope.AAD("escrow:"+category, version, patient, custodian)
}

// releaseAAD binds a share re-sealed to a provider to the declaration it was released for.
func releaseAAD(d *Declaration, category string, version uint32) []byte {
	return envelope.AAD("release:"+d.ID+":"+category, version, d.Patient, d.Provider)
}

func seal(recipientEncKey, share, aad []byte) ([]byte, error) {
	pub, err := keys.ParseEncPublic(recipientEncKey)
	if err != nil {
		return nil, err
	}
	return hpke.Seal(pub, kdf, aead, append([]byte(sealDomain), aad...), share)
}

// open tries the recipient's current key, then older ones (after a key rotation).
func open(kps []*keys.KeyPair, sealed, aad []byte) ([]byte, error) {
	if len(sealed) != SealedShareSize {
		return nil, fmt.Errorf("sealed share is %d bytes, want %d", len(sealed), SealedShareSize)
	}
	for _, kp := range kps {
		if kp == nil || kp.Enc == nil {
			continue
		}
		if pt, err := hpke.Open(kp.Enc, kdf, aead, append([]byte(sealDomain), aad...), sealed); err == nil && len(pt) == ShareSize {
			return pt, nil
		}
	}
	return nil, errors.New("the sealed share does not open with this keystore's keys")
}

func keyPairs(ks *keys.Keystore) []*keys.KeyPair {
	return append([]*keys.KeyPair{ks.Keys}, ks.Previous...)
}

// Split escrows one category key version: its seed split so that threshold of the
// custodians rebuild it, each share sealed to one custodian's identity key.
func Split(patient *keys.Keystore, category string, version uint32, threshold int, custodians []*identity.Identity) (*EscrowBody, error) {
	priv, ok := patient.CategoryKey(category, version)
	if !ok {
		return nil, fmt.Errorf("your keystore lacks category %q key version %d", category, version)
	}
	seed, err := priv.Bytes()
	if err != nil {
		return nil, err
	}
	if threshold < MinThreshold || len(custodians) < threshold || len(custodians) > MaxShares {
		return nil, fmt.Errorf("need a threshold of at least %d and between threshold and %d custodians (got %d of %d)", MinThreshold, MaxShares, threshold, len(custodians))
	}
	parts, err := shamir.Split(seed, len(custodians), threshold)
	if err != nil {
		return nil, err
	}
	b := &EscrowBody{Category: category, Version: version, Threshold: threshold}
	for i, c := range custodians {
		s, err := seal(c.EncKey, parts[i], escrowAAD(patient.ID, category, version, c.ID))
		if err != nil {
			return nil, fmt.Errorf("seal share for %s: %w", c.ID, err)
		}
		b.Shares = append(b.Shares, EscrowShare{Custodian: c.ID, Sealed: s})
	}
	return b, nil
}

// Reseal is what a custodian's node does for a declaration: open its share of an escrow
// and seal it to the declaring provider, bound to the declaration.
func Reseal(custodian *keys.Keystore, e *Escrow, d *Declaration, provider *identity.Identity) (*ReleaseBody, error) {
	if provider.ID != d.Provider {
		return nil, fmt.Errorf("declaration %s was made by %s, not %s", d.ID, d.Provider, provider.ID)
	}
	i := -1
	for j, s := range e.Shares {
		if s.Custodian == custodian.ID {
			i = j
		}
	}
	if i < 0 {
		return nil, fmt.Errorf("%s holds no share of %q version %d", custodian.ID, e.Category, e.Version)
	}
	share, err := open(keyPairs(custodian), e.Shares[i].Sealed, escrowAAD(e.Patient, e.Category, e.Version, custodian.ID))
	if err != nil {
		return nil, err
	}
	s, err := seal(provider.EncKey, share, releaseAAD(d, e.Category, e.Version))
	if err != nil {
		return nil, err
	}
	return &ReleaseBody{Declaration: d.ID, Category: e.Category, Version: e.Version, Sealed: s}, nil
}

// Reconstruct is the declaring provider's side: open the released shares of one escrowed
// key version and combine them. The result must match the escrowed public key, so too few
// or forged shares fail with ErrReconstruct instead of yielding a wrong key.
func Reconstruct(provider *keys.Keystore, d *Declaration, e *Escrow) (hpke.PrivateKey, error) {
	var parts [][]byte
	for _, r := range d.Releases {
		if r.Category != e.Category || r.Version != e.Version || r.Escrow != e.Height {
			continue // another key, or shares of an escrow since replaced
		}
		share, err := open(keyPairs(provider), r.Sealed, releaseAAD(d, e.Category, e.Version))
		if err != nil {
			continue // not sealed to this provider for this declaration
		}
		parts = append(parts, share)
	}
	if len(parts) < e.Threshold {
		return nil, fmt.Errorf("%w: %d share(s) of %q version %d opened, %d needed", ErrReconstruct, len(parts), e.Category, e.Version, e.Threshold)
	}
	// A dishonest custodian can release a well-sealed wrong share: try every choice of
	// threshold shares (at most C(16,8) = 12,870) until one rebuilds the escrowed key.
	var found hpke.PrivateKey
	choose(len(parts), e.Threshold, func(idx []int) bool {
		pick := make([][]byte, len(idx))
		for i, j := range idx {
			pick[i] = parts[j]
		}
		if k, err := Combine(pick, e); err == nil {
			found = k
			return false
		}
		return true
	})
	if found == nil {
		return nil, fmt.Errorf("%w: no %d of the %d released shares of %q version %d agree with the escrow", ErrReconstruct, e.Threshold, len(parts), e.Category, e.Version)
	}
	return found, nil
}

// choose calls fn with every k-subset of [0, n) in lexicographic order until fn is false.
func choose(n, k int, fn func([]int) bool) {
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	for {
		if !fn(idx) {
			return
		}
		i := k - 1
		for i >= 0 && idx[i] == n-k+i {
			i--
		}
		if i < 0 {
			return
		}
		idx[i]++
		for j := i + 1; j < k; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}

// Combine rebuilds an escrowed key from opened shares and checks it against the escrow.
func Combine(parts [][]byte, e *Escrow) (hpke.PrivateKey, error) {
	seed, err := shamir.Combine(parts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReconstruct, err)
	}
	priv, err := keys.ParseEncPrivate(seed)
	if err != nil || !bytes.Equal(priv.PublicKey().Bytes(), e.EncKey) {
		return nil, ErrReconstruct
	}
	return priv, nil
}
