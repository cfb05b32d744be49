// Package blobs is the content-addressed store for encrypted payloads too large to travel in
// a transaction. Only their SHA-256 digest is on chain; every read re-checks the digest, so
// a corrupted or substituted file is reported, never served.
package blobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
)

// ErrNotFound means this node does not hold the blob (yet).
var ErrNotFound = errors.New("blob not held by this node")

// ErrCorrupt means the stored bytes no longer match their digest.
var ErrCorrupt = errors.New("stored blob does not match its digest")

// Store keeps blobs as files named by their digest.
type Store struct {
	dir string

	mu      sync.Mutex
	policy  Policy
	pending map[[32]byte]upload // uploads no committed record references yet
	owed    map[string]int64    // identity -> bytes of its pending and in-flight uploads
}

// Open uses dir (created if needed), with the default policy, and loads the uploads still
// waiting for a record.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Store{dir: dir, policy: Policy{Grace: DefaultGrace, Quota: DefaultQuota},
		pending: map[[32]byte]upload{}, owed: map[string]int64{}}
	if err := s.loadPending(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) path(d [32]byte) string {
	h := hex.EncodeToString(d[:])
	return filepath.Join(s.dir, h[:2], h)
}

// Put stores data under digest d after checking that it hashes to d.
func (s *Store) Put(d [32]byte, data []byte) error {
	if sha256.Sum256(data) != d {
		return ErrDigest
	}
	return s.put(d, data)
}

// put stores data already checked to hash to d.
func (s *Store) put(d [32]byte, data []byte) error {
	p := s.path(d)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".up-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	tmp.Close()
	return os.Rename(tmp.Name(), p)
}

// Get returns the blob with digest d, verified.
func (s *Store) Get(d [32]byte) ([]byte, error) {
	b, err := os.ReadFile(s.path(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(b) != d {
		return nil, ErrCorrupt
	}
	return b, nil
}

// Delete removes the blob with digest d (an erased record's ciphertext) and forgets any
// pending upload of it. Deleting a blob this node does not hold is not an error.
func (s *Store) Delete(d [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.pending[d]; ok {
		s.drop(d, u)
	}
	os.Remove(s.refPath(d))
	if err := os.Remove(s.path(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
