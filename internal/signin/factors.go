package signin

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-webauthn/webauthn/webauthn"
)

// Factors is one identity's enrolled second factors.
type Factors struct {
	TOTPSecret   string                `json:"totp_secret,omitempty"`    // base32 (RFC 4648, no padding)
	TOTPLastStep int64                 `json:"totp_last_step,omitempty"` // last accepted time step: a code is never accepted twice
	UserHandle   []byte                `json:"user_handle,omitempty"`    // WebAuthn user handle (random, 32 bytes)
	Passkeys     []webauthn.Credential `json:"passkeys,omitempty"`
	Failures     Failures              `json:"failures,omitzero"` // failed sign-ins in a row, at any entry point: a lockout outlives a restart
}

// Enrolled reports whether any second factor is set up.
func (f *Factors) Enrolled() bool { return f != nil && (f.TOTPSecret != "" || len(f.Passkeys) > 0) }

// Store keeps second-factor enrolments and failure runs on the node's disk
// (HOME/portal/factors.json, 0600), outside consensus: they are this node's sign-in settings,
// not ledger state. Every change is written through (temp file, fsync, rename) before it
// takes effect, so an accepted TOTP step stays used, and a lockout stays, across a restart.
type Store struct {
	path string
	mu   sync.Mutex
	m    map[string]*Factors // by identity id
}

// OpenStore loads the store in dir, creating dir if needed.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Store{path: filepath.Join(dir, "factors.json"), m: map[string]*Factors{}}
	if err := ReadStateFile(s.path, &s.m, "restore it from a backup or remove it to make everyone enrol again"); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadStateFile fills v from a JSON file of the node's sign-in state at path; a missing file
// leaves v as it is. A file that does not parse is an error that says what removing it would
// mean.
func ReadStateFile(path string, v any, ifRemoved string) error {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s is damaged (%v); %s", path, err, ifRemoved)
	}
	return nil
}

// Get returns a copy of an identity's factors (nil if none).
func (s *Store) Get(id string) *Factors {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.m[id]
	if f == nil {
		return nil
	}
	c := *f
	c.Passkeys = append([]webauthn.Credential(nil), f.Passkeys...)
	return &c
}

// Update changes an identity's factors under the store lock and persists them. If fn returns
// an error, or the write fails, nothing changes.
func (s *Store) Update(id string, fn func(f *Factors) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.m[id]
	f := &Factors{}
	if old != nil {
		*f = *old
		f.Passkeys = append([]webauthn.Credential(nil), old.Passkeys...)
	}
	if len(f.UserHandle) == 0 {
		f.UserHandle = make([]byte, 32)
		rand.Read(f.UserHandle)
	}
	if err := fn(f); err != nil {
		return err
	}
	s.m[id] = f
	if err := s.save(); err != nil {
		if old == nil {
			delete(s.m, id)
		} else {
			s.m[id] = old
		}
		return err
	}
	return nil
}

func (s *Store) save() error {
	b, err := json.MarshalIndent(s.m, "", " ")
	if err != nil {
		return err
	}
	return WriteStateFile(s.path, b)
}

// WriteStateFile replaces path with b (0600): temp file, fsync, rename, fsync of the directory,
// so a crash leaves either the old file or the new one.
func WriteStateFile(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
