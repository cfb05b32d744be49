package portal

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/pquerna/otp"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// stage is how far a session got through sign-in.
type stage int

const (
	stagePassphrase stage = iota + 1 // passphrase accepted; second factor (or enrolment) pending
	stageSignedIn                    // both factors passed
)

const cookieName = "ehrchain_portal"

// session is one signed-in person. It holds the only decrypted copy of their keystore the
// portal has; wipe clears it when the session ends.
//
// A request holds mu while it uses the session, so one person's requests run one at a time
// and a session is never wiped under a request that is using its keys: expiry and sign-out
// take mu before wiping, and a request that then gets mu finds the session ended.
type session struct {
	mu       sync.Mutex
	ended    bool
	key      string // SHA-256 of the cookie token, hex: the token itself is never stored
	csrf     string
	name     string
	ks       *keys.Keystore
	ident    *identity.Identity
	remote   string
	stage    stage
	created  time.Time
	lastSeen time.Time
	failures int // wrong second-factor attempts in this session

	enrolTOTP *otp.Key              // a TOTP secret being enrolled, until confirmed
	wa        *webauthn.SessionData // a passkey ceremony in progress
	flash     string
}

// wipe zeroes the private signing keys and drops every reference to key material. Ed25519
// keys are byte slices and are overwritten; HPKE private keys are opaque crypto/hpke values
// that cannot be overwritten from outside, so they are released to the garbage collector.
// The caller holds s.mu (or is the only one to know s).
func (s *session) wipe() {
	s.ended = true
	if s.ks != nil {
		for _, kp := range append([]*keys.KeyPair{s.ks.Keys}, s.ks.Previous...) {
			if kp != nil {
				clear(kp.Sign)
				kp.Enc = nil
			}
		}
		for i := range s.ks.Category {
			s.ks.Category[i].Priv = nil
		}
		s.ks.Category, s.ks.Previous, s.ks.Keys = nil, nil, nil
		s.ks = nil
	}
	s.enrolTOTP, s.wa = nil, nil
}

// sessions is the in-memory session table. Nothing of it is written to disk: a restart signs
// everyone out.
type sessions struct {
	mu      sync.Mutex
	m       map[string]*session
	idle    time.Duration // signed-in session ends after this long without a request
	maxAge  time.Duration // ... and after this long in any case
	pending time.Duration // a half-finished sign-in ends after this long
}

func tokenKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create stores a new session and returns its cookie token.
func (t *sessions) create(s *session, now time.Time) string {
	token := randomToken()
	s.key, s.csrf, s.created, s.lastSeen = tokenKey(token), randomToken(), now, now
	t.mu.Lock()
	t.m[s.key] = s
	t.mu.Unlock()
	return token
}

// expired reports whether s has run out at now; caller holds mu.
func (t *sessions) expired(s *session, now time.Time) bool {
	if s.stage != stageSignedIn {
		return now.Sub(s.created) >= t.pending
	}
	return now.Sub(s.lastSeen) >= t.idle || now.Sub(s.created) >= t.maxAge
}

// lookup finds the session of a request and locks it; the caller must unlock s.mu. An
// expired session is removed, wiped and returned with expired set (unlocked), so the caller
// can say so and log it. A session that ended meanwhile is reported as absent.
func (t *sessions) lookup(r *http.Request, now time.Time) (s *session, expired bool) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, false
	}
	k := tokenKey(c.Value)
	t.mu.Lock()
	s = t.m[k]
	if s == nil {
		t.mu.Unlock()
		return nil, false
	}
	if t.expired(s, now) {
		delete(t.m, k)
		t.mu.Unlock()
		s.mu.Lock()
		s.wipe()
		s.mu.Unlock()
		return s, true
	}
	s.lastSeen = now
	t.mu.Unlock()
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return nil, false
	}
	return s, false
}

// end removes and wipes a session; the caller holds s.mu.
func (t *sessions) end(s *session) {
	t.mu.Lock()
	delete(t.m, s.key)
	t.mu.Unlock()
	s.wipe()
}

// promote marks s signed in under a fresh token, retiring the old one (a token seen before
// the second factor is worth nothing after it). The caller holds s.mu.
func (t *sessions) promote(s *session, now time.Time) string {
	token := randomToken()
	t.mu.Lock()
	delete(t.m, s.key)
	s.key, s.csrf, s.created, s.lastSeen, s.stage = tokenKey(token), randomToken(), now, now, stageSignedIn
	t.m[s.key] = s
	t.mu.Unlock()
	return token
}

// sweep wipes every expired session and returns them (for the sign-in log). A session in use
// by a request is wiped when that request finishes.
func (t *sessions) sweep(now time.Time) []*session {
	t.mu.Lock()
	var out []*session
	for k, s := range t.m {
		if t.expired(s, now) {
			delete(t.m, k)
			out = append(out, s)
		}
	}
	t.mu.Unlock()
	for _, s := range out {
		s.mu.Lock()
		s.wipe()
		s.mu.Unlock()
	}
	return out
}

// endAll wipes every session (the portal is closing).
func (t *sessions) endAll() {
	t.mu.Lock()
	all := t.m
	t.m = map[string]*session{}
	t.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		s.wipe()
		s.mu.Unlock()
	}
}

// checkCSRF compares a form's token with the session's in constant time.
func (s *session) checkCSRF(r *http.Request) bool {
	v := r.Header.Get("X-CSRF-Token")
	if v == "" {
		v = r.PostFormValue("csrf")
	}
	return v != "" && subtle.ConstantTimeCompare([]byte(v), []byte(s.csrf)) == 1
}
