package portal

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"sync"

	"github.com/ehrchain/ehrchain/internal/signin"
)

// seenStore remembers, per patient, which emergency declarations the portal has shown them
// and in which state, so the patient home can flag a new declaration (and a later
// justification or review). It is this node's portal state (HOME/portal/emergency-seen.json,
// 0600), not ledger state: a patient who signs in on another node's portal is told again.
// Like the factor store it writes through before the change counts.
type seenStore struct {
	path string
	mu   sync.Mutex
	m    map[string]map[string]string // patient id -> declaration id -> state shown
}

func openSeen(dir string) (*seenStore, error) {
	s := &seenStore{path: filepath.Join(dir, "emergency-seen.json"), m: map[string]map[string]string{}}
	if err := signin.ReadStateFile(s.path, &s.m, "remove it and patients are shown every emergency declaration as new again"); err != nil {
		return nil, err
	}
	return s, nil
}

// get returns a copy of what a patient has been shown.
func (s *seenStore) get(patient string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m[patient])
}

// mark records that the patient has been shown these declarations in these states. If the
// write fails nothing changes, and the patient is told again next time.
func (s *seenStore) mark(patient string, states map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.m[patient]
	same := true
	for id, st := range states {
		if v, ok := old[id]; !ok || v != st {
			same = false
		}
	}
	if same {
		return nil
	}
	next := maps.Clone(old)
	if next == nil {
		next = map[string]string{}
	}
	maps.Copy(next, states)
	s.m[patient] = next
	b, err := json.MarshalIndent(s.m, "", " ")
	if err == nil {
		err = signin.WriteStateFile(s.path, b)
	}
	if err != nil {
		if old == nil {
			delete(s.m, patient)
		} else {
			s.m[patient] = old
		}
	}
	return err
}
