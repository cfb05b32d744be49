package fhir

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// Authentication, SMART Backend Services style: an EHR system holds an ehrchain identity
// (a provider or insurer) whose keystore is unlocked on its institution's node. It signs
// a short-lived JWT client assertion (alg EdDSA, Ed25519 key of the identity) with
//
//	iss = sub = identity id, aud = the token URL, exp <= now + 5 min, jti unique
//
// and POSTs it to /fhir/r4/auth/token (grant_type=client_credentials,
// client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer). The
// gateway verifies it against the identity's current key on the ledger, refuses a jti it
// has seen before its expiry, and returns a bearer token valid for 5 minutes.
//
// A person (a patient) logs in at /fhir/r4/auth/login with the name of their keystore on
// this node and its passphrase; the keystore is decrypted for the session only.
const (
	AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	maxAssertion  = 5 * time.Minute
	tokenLife     = 5 * time.Minute
	loginLife     = 15 * time.Minute
	clockSkew     = 30 * time.Second
)

type session struct {
	ks      *keys.Keystore
	who     *identity.Identity
	expires time.Time
	pass    []byte // login sessions: to save the keystore after a key rotation
}

type authenticator struct {
	g        *Gateway
	logins   chan struct{} // bounds concurrent logins: each runs argon2id (64 MiB)
	keyring  keys.Dir
	mu       sync.Mutex
	unlocked map[string]*keys.Keystore
	sessions map[string]*session
	jtis     map[string]time.Time
}

func newAuthenticator(g *Gateway, keyring keys.Dir) *authenticator {
	return &authenticator{g: g, keyring: keyring, logins: make(chan struct{}, 2), unlocked: map[string]*keys.Keystore{},
		sessions: map[string]*session{}, jtis: map[string]time.Time{}}
}

func (a *authenticator) unlock(ks *keys.Keystore) {
	a.mu.Lock()
	a.unlocked[ks.ID] = ks
	a.mu.Unlock()
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	Identity    string `json:"identity"`
}

// oauthError answers an OAuth 2.0 error (RFC 6749 section 5.2) with an OperationOutcome
// alongside, so FHIR clients see the reason too.
func oauthError(w http.ResponseWriter, status int, code, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	oo := NewOutcome("error", "security", "", "%s", msg)
	w.Header().Set("Content-Type", FHIRJSON+"; charset=utf-8")
	w.WriteHeader(status)
	b, _ := Marshal(map[string]any{"resourceType": "OperationOutcome", "issue": oo.Issue, "error": code, "error_description": msg})
	w.Write(b)
}

func (a *authenticator) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "form body: %v", err)
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials, not %q", gt)
		return
	}
	if at := r.PostForm.Get("client_assertion_type"); at != AssertionType {
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_assertion_type must be %s", AssertionType)
		return
	}
	ks, who, exp, err := a.verifyAssertion(r.PostForm.Get("client_assertion"), r.Host)
	if err != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "%v", err)
		return
	}
	expires := a.g.Now().Add(tokenLife)
	if exp.Before(expires) {
		expires = exp
	}
	a.issue(w, ks, who, expires, nil)
}

func (a *authenticator) issue(w http.ResponseWriter, ks *keys.Keystore, who *identity.Identity, expires time.Time, pass []byte) {
	var b [32]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	a.mu.Lock()
	now := a.g.Now()
	for t, s := range a.sessions {
		if now.After(s.expires) {
			delete(a.sessions, t)
		}
	}
	a.sessions[tok] = &session{ks: ks, who: who, expires: expires, pass: pass}
	a.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(tokenResponse{AccessToken: tok, TokenType: "bearer",
		ExpiresIn: int(expires.Sub(now).Seconds()), Scope: scopeOf(who), Identity: who.ID})
}

func scopeOf(who *identity.Identity) string {
	if who.Role == identity.Patient {
		return "patient/*.*"
	}
	return "system/*.*"
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid,omitempty"`
}

type jwtClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Iat int64  `json:"iat,omitempty"`
	Jti string `json:"jti"`
}

// verifyAssertion checks a client assertion and consumes its jti.
func (a *authenticator) verifyAssertion(jwt, host string) (*keys.Keystore, *identity.Identity, time.Time, error) {
	var zero time.Time
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || len(jwt) > 8<<10 {
		return nil, nil, zero, fmt.Errorf("client_assertion is not a compact JWS")
	}
	var h jwtHeader
	var c jwtClaims
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		return nil, nil, zero, fmt.Errorf("client_assertion is malformed (base64url JSON header and claims expected)")
	}
	if h.Alg != "EdDSA" {
		return nil, nil, zero, fmt.Errorf("alg %q is not accepted: sign with EdDSA (Ed25519)", h.Alg)
	}
	if c.Iss == "" || c.Iss != c.Sub {
		return nil, nil, zero, fmt.Errorf("iss and sub must both be the identity id")
	}
	// aud names this node's token URL: an assertion made for another node (which would
	// not know this node's used jtis) is refused.
	if u, err := url.Parse(c.Aud); err != nil || u.Host != host || u.Path != Prefix+"/auth/token" {
		return nil, nil, zero, fmt.Errorf("aud %q is not this token endpoint (%s%s/auth/token)", c.Aud, host, Prefix)
	}
	if c.Jti == "" || len(c.Jti) > 128 {
		return nil, nil, zero, fmt.Errorf("jti must be 1-128 characters")
	}
	now := a.g.Now()
	exp := time.Unix(c.Exp, 0)
	switch {
	case !exp.After(now.Add(-clockSkew)):
		return nil, nil, zero, fmt.Errorf("the assertion expired at %s", exp.UTC().Format(time.RFC3339))
	case exp.After(now.Add(maxAssertion + clockSkew)):
		return nil, nil, zero, fmt.Errorf("exp is more than 5 minutes ahead")
	}
	who := identity.Get(a.g.b.View(), c.Sub)
	if who == nil {
		return nil, nil, zero, fmt.Errorf("identity %s is not registered", c.Sub)
	}
	if !who.Active {
		return nil, nil, zero, fmt.Errorf("identity %s is deactivated", c.Sub)
	}
	if !ed25519.Verify(who.SignKey, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, nil, zero, fmt.Errorf("signature does not verify with the identity's current key")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for j, e := range a.jtis {
		if now.After(e.Add(clockSkew)) {
			delete(a.jtis, j)
		}
	}
	key := c.Sub + "/" + c.Jti
	if _, seen := a.jtis[key]; seen {
		return nil, nil, zero, fmt.Errorf("jti %q was already used: sign a fresh assertion", c.Jti)
	}
	a.jtis[key] = exp
	ks := a.unlocked[c.Sub]
	if ks == nil {
		return nil, nil, zero, fmt.Errorf("identity %s has no keystore unlocked on this node (start the node with --fhir-unlock)", c.Sub)
	}
	if !bytes.Equal(ks.Keys.SignPublic(), who.SignKey) {
		return nil, nil, zero, fmt.Errorf("the keystore unlocked on this node does not hold the identity's current key")
	}
	return ks, who, exp, nil
}

type loginRequest struct {
	Keystore   string `json:"keystore"`
	Passphrase string `json:"passphrase"`
}

func (a *authenticator) login(w http.ResponseWriter, r *http.Request) {
	if a.keyring.Path == "" {
		oauthError(w, http.StatusNotFound, "invalid_request", "login is not enabled on this node")
		return
	}
	var req loginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&req); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body must be JSON {keystore, passphrase}: %v", err)
		return
	}
	data, err := a.keyring.Load(req.Keystore)
	if err != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_grant", "wrong keystore name or passphrase")
		return
	}
	select {
	case a.logins <- struct{}{}:
		defer func() { <-a.logins }()
	case <-r.Context().Done():
		return
	}
	ks, err := keys.Decrypt(data, []byte(req.Passphrase))
	if err != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_grant", "wrong keystore name or passphrase")
		return
	}
	who := identity.Get(a.g.b.View(), ks.ID)
	if who == nil || !who.Active || !bytes.Equal(ks.Keys.SignPublic(), who.SignKey) {
		oauthError(w, http.StatusUnauthorized, "invalid_grant", "keystore %s is not an active identity with its current key on this chain", req.Keystore)
		return
	}
	a.issue(w, ks, who, a.g.Now().Add(loginLife), []byte(req.Passphrase))
}

type sessionKey struct{}

// authed requires a valid bearer token.
func (g *Gateway) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ehrchain"`)
			writeOutcome(w, http.StatusUnauthorized, NewOutcome("error", "login", "", "a bearer token is required: get one at %s/auth/token (signed JWT) or %s/auth/login", Prefix, Prefix))
			return
		}
		g.auth.mu.Lock()
		s := g.auth.sessions[strings.TrimSpace(tok)]
		g.auth.mu.Unlock()
		if s == nil || g.Now().After(s.expires) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ehrchain", error="invalid_token"`)
			writeOutcome(w, http.StatusUnauthorized, NewOutcome("error", "expired", "", "the bearer token is unknown or expired"))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)), s)
	}
}

// SignAssertion builds a client assertion for ks, valid for life (at most 5 minutes), for
// the token endpoint at tokenURL.
func SignAssertion(ks *keys.Keystore, tokenURL string, now time.Time, life time.Duration) string {
	var j [16]byte
	rand.Read(j[:])
	hb, _ := json.Marshal(jwtHeader{Alg: "EdDSA", Typ: "JWT", Kid: ks.ID})
	cb, _ := json.Marshal(jwtClaims{Iss: ks.ID, Sub: ks.ID, Aud: tokenURL, Exp: now.Add(life).Unix(), Iat: now.Unix(),
		Jti: base64.RawURLEncoding.EncodeToString(j[:])})
	in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(ks.Keys.Sign, []byte(in)))
}
