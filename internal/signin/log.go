package signin

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

// Sign-in log events. Names are stable: auditors' tools read them.
const (
	EvSignIn        = "signin.success"
	EvSignInFailed  = "signin.failed"  // wrong passphrase, unknown name, wrong or missing second factor
	EvLocked        = "signin.locked"  // refused before the passphrase: too many failures
	EvSignInRefused = "signin.refused" // the passphrase was right, the policy refused (role, not unlocked, no factor)
	EvSignOut       = "signout"
	EvExpired       = "session.expired"
	EvEnrolled      = "factor.enrolled"
	EvReset         = "factor.reset"   // an administrator removed an identity's second factors
	EvAccessRefused = "access.refused" // a signed-in person asked for another role's page
)

// Event is one line of the node's sign-in log.
type Event struct {
	Time   time.Time `json:"time"`
	Event  string    `json:"event"`
	Entry  string    `json:"entry,omitempty"` // portal or fhir (older lines: the portal)
	Name   string    `json:"name"`            // the keystore name typed in
	ID     string    `json:"id,omitempty"`    // the identity, once known
	Role   string    `json:"role,omitempty"`
	Method string    `json:"method,omitempty"` // passphrase, totp, passkey
	Remote string    `json:"remote,omitempty"` // client address
	Reason string    `json:"reason,omitempty"`
	Prev   string    `json:"prev"` // SHA-256 (hex) of the previous line: edits and deletions break the chain
}

// Log is an append-only JSON-lines file on the node (HOME/portal/signin.log), fsynced per
// line, shared by every entry point. Sign-ins are this node's business, not the ledger's:
// they are kept outside consensus and shown to auditors signed in on this node. Each line names the hash of the line before
// it, so an edited or removed line shows as a break in the chain (a rewrite of the whole
// file, or a cut tail, does not: the node operator is trusted with this file).
type Log struct {
	mu   sync.Mutex
	f    *os.File
	path string
	last string // hash of the last line
}

// OpenLog opens (or creates) the sign-in log in dir and checks it can be read.
func OpenLog(dir string) (*Log, error) {
	p := filepath.Join(dir, "signin.log")
	l := &Log{path: p}
	if _, err := l.read(func([]byte, Event) {}); err != nil && !errors.Is(err, os.ErrNotExist) {
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
func (l *Log) read(fn func([]byte, Event)) (broken int, err error) {
	f, err := os.Open(l.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	prev := ""
	for n := 1; sc.Scan(); n++ {
		var e Event
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

// Add appends an event; an event that cannot be written is an error the caller must act on.
func (l *Log) Add(e Event) error {
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

// Recent returns up to n of the newest events, newest first, and the first line where the
// hash chain breaks (0 if it is intact).
func (l *Log) Recent(n int) ([]Event, int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var all []Event
	last := l.last
	broken, err := l.read(func(_ []byte, e Event) { all = append(all, e) })
	l.last = last // lines appended by Add are the truth; read only checks
	if err != nil {
		return nil, 0, err
	}
	out := make([]Event, 0, min(n, len(all)))
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, all[i])
	}
	return out, broken, nil
}

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }
