package portal

import (
	"sync"
	"time"
)

// limiter counts failed sign-in attempts per key (an identity, a client address) in a sliding
// window. A key with max failures in the window is locked until the oldest one leaves it. It is
// checked before the passphrase is tried, so a locked identity costs no Argon2 work.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	fails  map[string][]time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{window: window, max: max, fails: map[string][]time.Time{}}
}

// prune drops failures older than the window; caller holds mu.
func (l *limiter) prune(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = f
	return f
}

// locked reports whether key is locked and until when.
func (l *limiter) locked(key string, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, now)
	if len(f) >= l.max {
		return true, f[len(f)-l.max].Add(l.window)
	}
	return false, time.Time{}
}

// fail records a failure.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails[key] = append(l.prune(key, now), now)
}

// reset forgets key's failures (after a complete sign-in).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}
