package keys

import (
	"crypto/hpke"
	"fmt"
)

// Keystore is what a person holds: current keys, previous encryption keys
// (kept after a rotation so old records stay readable), and named extra HPKE
// private keys (per-category patient keys, versioned).
type Keystore struct {
	Name     string     // local name, e.g. "registrar", "dr-alice"
	ID       string     // identity id (from the FIRST signing key; stays the same after rotation)
	Keys     *KeyPair   // current
	Previous []*KeyPair // older key pairs, oldest first
	Category []CategoryKey
}

// CategoryKey is one version of a per-category HPKE private key.
type CategoryKey struct {
	Category string
	Version  uint32
	Priv     hpke.PrivateKey
}

// NewKeystore generates a fresh identity named name.
func NewKeystore(name string) (*Keystore, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("%w: %q", ErrBadName, name)
	}
	kp, err := Generate()
	if err != nil {
		return nil, err
	}
	return &Keystore{Name: name, ID: IDFromSignKey(kp.SignPublic()), Keys: kp}, nil
}

// Rotate makes a fresh key pair current and moves the old one to Previous.
// The identity id does not change.
func (ks *Keystore) Rotate() (*KeyPair, error) {
	if ks.Keys == nil {
		return nil, fmt.Errorf("%w: no current keys to rotate", ErrInvalidKeystore)
	}
	kp, err := Generate()
	if err != nil {
		return nil, err
	}
	ks.Previous = append(ks.Previous, ks.Keys)
	ks.Keys = kp
	return kp, nil
}

// CategoryKey returns the private key for one version of a category.
func (ks *Keystore) CategoryKey(category string, version uint32) (hpke.PrivateKey, bool) {
	for _, c := range ks.Category {
		if c.Category == category && c.Version == version {
			return c.Priv, true
		}
	}
	return nil, false
}

// AddCategoryKey stores a category key. An existing entry with the same
// category and version is replaced, so a version never has two keys.
func (ks *Keystore) AddCategoryKey(category string, version uint32, priv hpke.PrivateKey) {
	for i, c := range ks.Category {
		if c.Category == category && c.Version == version {
			ks.Category[i].Priv = priv
			return
		}
	}
	ks.Category = append(ks.Category, CategoryKey{Category: category, Version: version, Priv: priv})
}

// LatestCategoryKey returns the highest version held for a category.
func (ks *Keystore) LatestCategoryKey(category string) (CategoryKey, bool) {
	var best CategoryKey
	found := false
	for _, c := range ks.Category {
		if c.Category == category && (!found || c.Version > best.Version) {
			best, found = c, true
		}
	}
	return best, found
}
