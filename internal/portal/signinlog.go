package portal

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Sign-in log events.
const (
	evSignIn       = "signin.success"
	evSignInFailed = "signin.failed"
	evLocked       = "signin.locked"
	evSignOut      = "signout"
	evExpired      = "session.expired"
	evEnrolled     = "factor.enrolled"
	evRefused      = "access.refused" // a signed-in person asked for another role's page
)

// SignInEvent is one line of the portal's sign-in log.
type SignInEvent struct {
	Time   time.Time `json:"time"`
	Event  string    `json:"event"`
	Name   string    `json:"name"`         // the keystore name typed in
	ID     string    `json:"id,omitempty"` // the identity, once known
	Role   string    `json:"role,omitempty"`
	Method string    `json:"method,omitempty"` // passphrase, totp, passkey
	Remote string    `json:"remote,omitempty"` // client address
	Reason string    `json:"reason,omitempty"`
	Prev   string    `json:"prev"` // SHA-256 (hex) of the previous line: edits and deletions break the chain
}

// signInLog is an append-only JSON-lines file on the node (HOME/portal/signin.log), fsynced per
// line. Sign-ins are this node's business, not the ledger's: they are kept outside consensus
// and shown to auditors signed in on this node. Each line names the hash of the line before
// it, so an edited or removed line shows as a break in the chain (a rewrite of the whole
// file, or a cut tail, does not: the node operator is trusted with this file).
type signInLog struct {
	mu   sync.Mutex
	f    *os.File
	path string
	last string // hash of the last line
}

func openSignInLog(dir string) (*signInLog, error) {
	p := filepath.Join(dir, "signin.log")
	l := &signInLog{path: p}
	if _, err := l.read(func([]byte, SignInEvent) {}); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	l.f = f
	return l, nil
}

func lineHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// read calls fn for each line in order, sets l.last, and returns the 1-based number of the
// first line whose chain link is wrong (0: the chain is intact). Caller holds mu or owns l.
func (l *signInLog) read(fn func([]byte, SignInEvent)) (broken int, err error) {
	f, err := os.Open(l.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	prev := ""
	for n := 1; sc.Scan(); n++ {
		var e SignInEvent
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Prev != prev {
			if broken == 0 {
				broken = n
			}
		}
		fn(sc.Bytes(), e)
		prev = lineHash(sc.Bytes())
	}
	l.last = prev
	return broken, sc.Err()
}

// add appends an event; an event that cannot be written is an error the caller must act on.
func (l *signInLog) add(e SignInEvent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.Prev = l.last
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return err
	}
	l.last = lineHash(b)
	return l.f.Sync()
}

// recent returns up to n of the newest events, newest first, and the first line where the
// hash chain breaks (0 if it is intact).
func (l *signInLog) recent(n int) ([]SignInEvent, int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var all []SignInEvent
	last := l.last
	broken, err := l.read(func(_ []byte, e SignInEvent) { all = append(all, e) })
	l.last = last // lines appended by add are the truth; read only checks
	if err != nil {
		return nil, 0, err
	}
	out := make([]SignInEvent, 0, min(n, len(all)))
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, all[i])
	}
	return out, broken, nil
}

func (l *signInLog) close() error { return l.f.Close() }
