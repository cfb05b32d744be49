package signin

import (
	"errors"
	"sync"
	"time"
)

// Service is the node's one sign-in state: the factor store (with the persisted failure runs
// of identities) and the sign-in log, opened once per process and shared by every entry point,
// so a lockout earned at one applies at the other and every attempt lands in one chain.
type Service struct {
	limits  Limits
	factors *Store
	log     *Log

	mu      sync.Mutex
	remotes map[string]Failures // by client address; kept in memory (an address is no account)
	names   map[string]Failures // names that are no keystore, so they lock like real ones
}

// maxTracked bounds the in-memory failure maps: past it, runs that no longer lock are
// dropped, and past 16 times it (a flood of names or addresses) a map starts afresh.
const maxTracked = 4096

// Open opens the sign-in state in dir (HOME/portal), creating it if needed.
func Open(dir string, l Limits) (*Service, error) {
	st, err := OpenStore(dir)
	if err != nil {
		return nil, err
	}
	lg, err := OpenLog(dir)
	if err != nil {
		return nil, err
	}
	return &Service{limits: l.withDefaults(), factors: st, log: lg, remotes: map[string]Failures{}, names: map[string]Failures{}}, nil
}

// Limits are the limits in force.
func (s *Service) Limits() Limits { return s.limits }

// Factors is the second-factor store.
func (s *Service) Factors() *Store { return s.factors }

// Record appends an event to the sign-in log. An error means the attempt is not recorded:
// a caller that would grant access must refuse instead.
func (s *Service) Record(e Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	return s.log.Add(e)
}

// Recent returns the newest n events, newest first, and the first line where the chain
// breaks (0: intact).
func (s *Service) Recent(n int) ([]Event, int, error) { return s.log.Recent(n) }

// Close closes the sign-in log.
func (s *Service) Close() error { return s.log.Close() }

// Failures returns the failure runs of an identity (by id; "" when the name is no keystore,
// then of the name) and of a client address.
func (s *Service) Failures(id, name, remote string) (ident, rem Failures) {
	if id != "" {
		if f := s.factors.Get(id); f != nil {
			ident = f.Failures
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		ident = s.names[name]
	}
	return ident, s.remotes[remote]
}

// Fail counts a failed attempt against the identity (persisted before it returns) or the
// unknown name, and against the client address.
func (s *Service) Fail(id, name, remote string, now time.Time) error {
	w := s.limits.Window
	s.mu.Lock()
	s.remotes[remote] = s.remotes[remote].Add(now, w)
	if id == "" {
		s.names[name] = s.names[name].Add(now, w)
	}
	s.prune(now)
	s.mu.Unlock()
	if id == "" {
		return nil
	}
	return s.factors.Update(id, func(f *Factors) error {
		f.Failures = f.Failures.Add(now, w)
		return nil
	})
}

// Succeed ends an identity's run of failures after a complete sign-in. The client address
// keeps its run: one good sign-in does not license more guessing at other names.
func (s *Service) Succeed(id string) error {
	if f := s.factors.Get(id); f == nil || f.Failures.Count == 0 {
		return nil
	}
	return s.factors.Update(id, func(f *Factors) error {
		f.Failures = Failures{}
		return nil
	})
}

// prune drops in-memory runs that no longer lock once the maps grow past maxTracked;
// caller holds mu.
func (s *Service) prune(now time.Time) {
	for _, m := range []map[string]Failures{s.remotes, s.names} {
		if len(m) <= maxTracked {
			continue
		}
		for k, f := range m {
			if !now.Before(f.Last.Add(s.limits.Window)) {
				delete(m, k)
			}
		}
		if len(m) > 16*maxTracked {
			clear(m)
		}
	}
}

// ErrNotRecorded is returned by entry points that refuse a sign-in because the sign-in log
// could not be written (audit fails closed).
var ErrNotRecorded = errors.New("the sign-in could not be recorded in the sign-in log, so it is refused: tell the node operator")
