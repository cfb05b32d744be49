package portal

import (
	"bufio"
	"encoding/json"
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
}

// signInLog is an append-only JSON-lines file on the node (HOME/portal/signin.log), fsynced per
// line. Sign-ins are this node's business, not the ledger's: they are kept outside consensus
// and shown to auditors signed in on this node.
type signInLog struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

func openSignInLog(dir string) (*signInLog, error) {
	p := filepath.Join(dir, "signin.log")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &signInLog{f: f, path: p}, nil
}

// add appends an event; an event that cannot be written is an error the caller must act on.
func (l *signInLog) add(e SignInEvent) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return l.f.Sync()
}

// recent returns up to n of the newest events, newest first.
func (l *signInLog) recent(n int) ([]SignInEvent, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var all []SignInEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var e SignInEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			all = append(all, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]SignInEvent, 0, min(n, len(all)))
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, all[i])
	}
	return out, nil
}

func (l *signInLog) close() error { return l.f.Close() }
