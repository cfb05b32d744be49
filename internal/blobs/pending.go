package blobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Orphans: an upload is charged to its uploader and marked pending (a "<digest>.up" file
// beside the blob) until the node sees a committed record naming the digest, which marks it
// referenced ("<digest>.ref") for good. Sweep deletes pending uploads older than the grace
// period. A referenced blob, or one fetched from a peer (only committed digests are
// fetched), is never pending and never deleted; neither is a blob stored before uploads were
// tracked, which has no marker at all.

// Defaults of Policy.
const (
	DefaultGrace       = time.Hour
	DefaultQuota int64 = 1 << 30
)

// Policy bounds what uploads may leave on disk without a record.
type Policy struct {
	Grace time.Duration // a pending upload older than this is deleted by Sweep
	Quota int64         // bytes of pending uploads one identity may hold
}

// ErrQuota means an upload would take its uploader past Policy.Quota.
var ErrQuota = errors.New("upload quota exceeded")

// ErrDigest means uploaded bytes do not hash to the digest they were uploaded under.
var ErrDigest = errors.New("blob does not hash to the digest it was uploaded under")

type upload struct {
	owner   string
	size    int64
	at      int64 // unix nanoseconds
	writing bool  // the bytes are still being written: Sweep leaves it alone
}

// SetPolicy replaces the grace period and quota.
func (s *Store) SetPolicy(p Policy) {
	s.mu.Lock()
	s.policy = p
	s.mu.Unlock()
}

// Policy is the grace period and quota in force.
func (s *Store) Policy() Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policy
}

// Owed is the bytes of identity id's uploads that no committed record references yet.
func (s *Store) Owed(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owed[id]
}

// Pending is the number of uploads no committed record references yet.
func (s *Store) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Reservation is quota charged to an upload before its body is read, so that concurrent
// uploads cannot together pass the quota, nor hold more than it in memory at once.
type Reservation struct {
	s     *Store
	owner string
	size  int64
	done  bool // the charge was released or passed to a pending blob
}

// Reserve charges size bytes to owner, or refuses with ErrQuota if its uploads no committed
// record references (and those in flight) would pass the quota. Upload or Release ends it.
func (s *Store) Reserve(owner string, size int64) (*Reservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if owed := s.owed[owner]; owed+size > s.policy.Quota {
		return nil, fmt.Errorf("%w: %s already holds %d bytes of uploads no committed record references; %d more would pass the quota of %d bytes (they are freed when the records commit, or deleted %s after upload)",
			ErrQuota, owner, owed, size, s.policy.Quota, s.policy.Grace)
	}
	s.owed[owner] += size
	return &Reservation{s: s, owner: owner, size: size}, nil
}

// Release gives the charge back unless Upload passed it to a stored blob. Idempotent.
func (r *Reservation) Release() {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.release()
}

func (r *Reservation) release() {
	if r.done {
		return
	}
	r.done = true
	if r.s.owed[r.owner] -= r.size; r.s.owed[r.owner] <= 0 {
		delete(r.s.owed, r.owner)
	}
}

func (s *Store) refPath(d [32]byte) string { return s.path(d) + ".ref" }
func (s *Store) upPath(d [32]byte) string  { return s.path(d) + ".up" }

func (s *Store) referenced(d [32]byte) bool {
	_, err := os.Stat(s.refPath(d))
	return err == nil
}

// Upload stores data under d on behalf of owner and charges it to owner until a committed
// record references d. A blob already held or already referenced is not charged again.
func (s *Store) Upload(d [32]byte, data []byte, owner string, now time.Time) error {
	r, err := s.Reserve(owner, int64(len(data)))
	if err != nil {
		return err
	}
	return r.Upload(d, data, now)
}

// Upload stores data (of the reserved size) under d. The charge stays with the owner while
// the blob is pending; it is released if the blob was held or referenced already, or on error.
func (r *Reservation) Upload(d [32]byte, data []byte, now time.Time) error {
	s := r.s
	defer r.Release()
	if int64(len(data)) != r.size {
		return fmt.Errorf("%d bytes uploaded on a reservation for %d", len(data), r.size)
	}
	if sha256.Sum256(data) != d {
		return ErrDigest
	}
	s.mu.Lock()
	if u, ok := s.pending[d]; ok || s.Has(d) {
		// Held already. The same uploader sending it again (a retry) restarts its grace
		// period; anyone else's copy changes nothing, and is not charged.
		if ok && u.owner == r.owner && !u.writing {
			u.at = now.UnixNano()
			if err := s.writeMarker(d, u); err == nil {
				s.pending[d] = u
			}
		}
		s.mu.Unlock()
		return nil
	}
	if s.referenced(d) { // a committed record names it: kept for good, nothing to charge
		s.mu.Unlock()
		return s.put(d, data)
	}
	u := upload{owner: r.owner, size: r.size, at: now.UnixNano(), writing: true}
	if err := s.writeMarker(d, u); err != nil {
		s.mu.Unlock()
		return err
	}
	s.pending[d] = u
	r.done = true // the pending blob carries the charge from here on
	s.mu.Unlock()

	err := s.put(d, data)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.pending[d]
	if !ok || cur.owner != u.owner || cur.at != u.at { // referenced meanwhile: no longer ours
		return err
	}
	if err != nil {
		s.drop(d, cur)
		return err
	}
	cur.writing = false
	s.pending[d] = cur
	return nil
}

func (s *Store) writeMarker(d [32]byte, u upload) error {
	if err := os.MkdirAll(filepath.Dir(s.path(d)), 0o700); err != nil {
		return err
	}
	return os.WriteFile(s.upPath(d), fmt.Appendf(nil, "%s %d %d\n", u.owner, u.size, u.at), 0o600)
}

// drop forgets a pending upload (its marker and its charge), not its bytes. s.mu is held.
func (s *Store) drop(d [32]byte, u upload) {
	delete(s.pending, d)
	if s.owed[u.owner] -= u.size; s.owed[u.owner] <= 0 {
		delete(s.owed, u.owner)
	}
	os.Remove(s.upPath(d))
}

// MarkReferenced records that a committed record names d: the blob (held now or fetched
// later) is never swept, and its uploader is no longer charged for it.
func (s *Store) MarkReferenced(d [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.referenced(d) {
		if err := os.MkdirAll(filepath.Dir(s.path(d)), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(s.refPath(d), nil, 0o600); err != nil {
			return err
		}
	}
	if u, ok := s.pending[d]; ok {
		s.drop(d, u)
	}
	return nil
}

// Sweep deletes the pending uploads older than the grace period at now and returns their
// digests. It runs outside consensus, after the caller has marked every digest named by the
// records committed so far.
func (s *Store) Sweep(now time.Time) ([][32]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var deleted [][32]byte
	var errs []error
	for d, u := range s.pending {
		if u.writing || now.Sub(time.Unix(0, u.at)) < s.policy.Grace {
			continue
		}
		if s.referenced(d) {
			s.drop(d, u)
			continue
		}
		if err := os.Remove(s.path(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		s.drop(d, u)
		deleted = append(deleted, d)
	}
	return deleted, errors.Join(errs...)
}

// loadPending reads the markers left by earlier runs, and removes what a crash left behind:
// half-written temporary files, and markers of blobs never written or since referenced.
func (s *Store) loadPending() error {
	return filepath.WalkDir(s.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		name := e.Name()
		if strings.HasPrefix(name, ".up-") {
			return os.Remove(p)
		}
		h, ok := strings.CutSuffix(name, ".up")
		if !ok {
			return nil
		}
		raw, err := hex.DecodeString(h)
		if err != nil || len(raw) != 32 {
			return nil
		}
		d := [32]byte(raw)
		var u upload
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if _, err := fmt.Sscanf(string(b), "%s %d %d", &u.owner, &u.size, &u.at); err != nil || s.referenced(d) || !s.Has(d) {
			return os.Remove(p)
		}
		s.pending[d] = u
		s.owed[u.owner] += u.size
		return nil
	})
}
