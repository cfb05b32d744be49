package keys

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// The sealed part of a keystore file is a compact binary encoding rather
// than JSON so it is deterministic, has no optional fields, and can be wiped
// from memory after use:
//
//	u32 n                        number of key pairs (>= 1)
//	n × (32-byte Ed25519 seed || 32-byte HPKE seed)
//	                             current pair first, then Previous oldest first
//	u32 m                        number of category keys
//	m × (u16 len || category || u32 version || 32-byte HPKE seed)

const (
	pairSize       = ed25519.SeedSize + EncPrivateKeySize
	maxCategoryLen = 255
)

// validCategory keeps category names short and valid UTF-8.
func validCategory(c string) bool {
	return len(c) >= 1 && len(c) <= maxCategoryLen && utf8.ValidString(c)
}

func marshalPair(dst []byte, kp *KeyPair) ([]byte, error) {
	if kp == nil {
		return nil, fmt.Errorf("%w: missing key pair", ErrInvalidKeystore)
	}
	s, err := signSeed(kp.Sign)
	if err != nil {
		return nil, err
	}
	e, err := encPrivateBytes(kp.Enc)
	if err != nil {
		return nil, err
	}
	dst = append(dst, s...)
	dst = append(dst, e...)
	clear(s)
	clear(e)
	return dst, nil
}

// marshalSecret encodes every private key in ks.
func marshalSecret(ks *Keystore) ([]byte, error) {
	var out []byte
	out = binary.BigEndian.AppendUint32(out, uint32(1+len(ks.Previous)))
	var err error
	if out, err = marshalPair(out, ks.Keys); err != nil {
		return nil, err
	}
	for _, kp := range ks.Previous {
		if out, err = marshalPair(out, kp); err != nil {
			return nil, err
		}
	}
	out = binary.BigEndian.AppendUint32(out, uint32(len(ks.Category)))
	seen := make(map[catVer]bool, len(ks.Category))
	for _, c := range ks.Category {
		if !validCategory(c.Category) {
			return nil, fmt.Errorf("%w: category name %q must be 1..%d bytes of UTF-8", ErrInvalidKeystore, c.Category, maxCategoryLen)
		}
		if seen[catVer{c.Category, c.Version}] {
			return nil, fmt.Errorf("%w: duplicate key for category %q version %d", ErrInvalidKeystore, c.Category, c.Version)
		}
		seen[catVer{c.Category, c.Version}] = true
		e, err := encPrivateBytes(c.Priv)
		if err != nil {
			return nil, fmt.Errorf("category %q version %d: %w", c.Category, c.Version, err)
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(c.Category)))
		out = append(out, c.Category...)
		out = binary.BigEndian.AppendUint32(out, c.Version)
		out = append(out, e...)
		clear(e)
	}
	return out, nil
}

// catVer identifies one category key version.
type catVer struct {
	c string
	v uint32
}

func unmarshalPair(r *reader) (*KeyPair, error) {
	s := r.take(ed25519.SeedSize)
	e := r.take(EncPrivateKeySize)
	if !r.ok {
		return nil, fmt.Errorf("%w: sealed key pair truncated", ErrMalformed)
	}
	enc, err := ParseEncPrivate(e)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return &KeyPair{Sign: ed25519.NewKeyFromSeed(s), Enc: enc}, nil
}

// unmarshalSecret decodes the sealed keys into ks. Counts are checked against
// the remaining length before allocating.
func unmarshalSecret(ks *Keystore, b []byte) error {
	r := &reader{b: b, ok: true}
	n := r.u32()
	if !r.ok || n == 0 || uint64(n) > uint64(len(r.b))/pairSize {
		return fmt.Errorf("%w: bad sealed key pair count", ErrMalformed)
	}
	pairs := make([]*KeyPair, 0, n)
	for range n {
		kp, err := unmarshalPair(r)
		if err != nil {
			return err
		}
		pairs = append(pairs, kp)
	}
	m := r.u32()
	// Smallest category entry: 2 + 1 + 4 + 32 bytes.
	if !r.ok || uint64(m) > uint64(len(r.b))/(2+1+4+EncPrivateKeySize) {
		return fmt.Errorf("%w: bad sealed category key count", ErrMalformed)
	}
	ks.Keys = pairs[0]
	if n > 1 {
		ks.Previous = pairs[1:]
	}
	seen := make(map[catVer]bool)
	for range m {
		name := string(r.take(int(r.u16())))
		version := r.u32()
		e := r.take(EncPrivateKeySize)
		if !r.ok {
			return fmt.Errorf("%w: sealed category key truncated", ErrMalformed)
		}
		if !validCategory(name) {
			return fmt.Errorf("%w: bad sealed category name", ErrMalformed)
		}
		if seen[catVer{name, version}] {
			return fmt.Errorf("%w: duplicate key for category %q version %d", ErrMalformed, name, version)
		}
		seen[catVer{name, version}] = true
		priv, err := ParseEncPrivate(e)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		ks.Category = append(ks.Category, CategoryKey{Category: name, Version: version, Priv: priv})
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes after sealed keys", ErrMalformed, len(r.b))
	}
	return nil
}
