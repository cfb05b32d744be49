package fhir

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/signin"
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
// A person logs in at /fhir/r4/auth/login with the name of their keystore on this node, its
// passphrase and the current code of their authenticator app (enrolled at the web portal),
// under the node's one sign-in policy (internal/signin): patients, and providers unlocked on
// this node; never the registrar, an auditor or an insurer. Failures lock the identity at
// both entry points, across restarts, and every attempt is in the sign-in log. The keystore
// is decrypted for the session only.
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
	pass    []byte      // login sessions: to save the keystore after a key rotation
	grant   *smartGrant // SMART app tokens: the scopes that narrow what the session may do
}

type authenticator struct {
	g        *Gateway
	logins   chan struct{} // bounds concurrent logins: each runs argon2id (64 MiB)
	keyring  keys.Dir
	mu       sync.Mutex
	unlocked map[string]*keys.Keystore
	sessions map[string]*session
	jtis     map[string]time.Time
	pending  map[string]*pendingAuth // SMART authorization requests, by their page's id
	codes    map[string]*authCode    // SMART authorization codes
}

func newAuthenticator(g *Gateway, keyring keys.Dir) *authenticator {
	return &authenticator{g: g, keyring: keyring, logins: make(chan struct{}, 2), unlocked: map[string]*keys.Keystore{},
		sessions: map[string]*session{}, jtis: map[string]time.Time{},
		pending: map[string]*pendingAuth{}, codes: map[string]*authCode{}}
}

func (a *authenticator) unlock(ks *keys.Keystore) {
	a.mu.Lock()
	a.unlocked[ks.ID] = ks
	a.mu.Unlock()
}

func (a *authenticator) isUnlocked(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.unlocked[id] != nil
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
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
	case "authorization_code":
		a.exchangeCode(w, r)
		return
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials or authorization_code, not %q", gt)
		return
	}
	if at := r.PostForm.Get("client_assertion_type"); at != AssertionType {
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_assertion_type must be %s", AssertionType)
		return
	}
	// The assertion's exp bounds the exchange, not the token (SMART Backend Services).
	ks, who, _, err := a.verifyAssertion(r.PostForm.Get("client_assertion"), r.Host)
	if err != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "%v", err)
		return
	}
	a.issue(w, ks, who, a.g.Now().Add(tokenLife), nil)
}

func (a *authenticator) issue(w http.ResponseWriter, ks *keys.Keystore, who *identity.Identity, expires time.Time, pass []byte) {
	a.mu.Lock()
	now := a.g.Now()
	tok := a.openLocked(&session{ks: ks, who: who, expires: expires, pass: pass}, now)
	a.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(tokenResponse{AccessToken: tok, TokenType: "bearer",
		ExpiresIn: int(expires.Sub(now).Seconds()), Scope: scopeOf(who), Identity: who.ID})
}

// openLocked stores a new session under a fresh random token (a.mu held), dropping the
// expired ones.
func (a *authenticator) openLocked(s *session, now time.Time) string {
	var b [32]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	for t, s := range a.sessions {
		if now.After(s.expires) {
			delete(a.sessions, t)
		}
	}
	a.sessions[tok] = s
	return tok
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
	if who.Role == identity.Registrar {
		return nil, nil, zero, fmt.Errorf("the registrar never gets a gateway token: register and manage identities with the ehrchain command line")
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
	OTP        string `json:"otp"` // the current code of the authenticator app enrolled at the portal
}

// dummyKeystore is decrypted when a name has no keystore, so an unknown name takes as long
// to refuse as a wrong passphrase and does not reveal which names exist.
var dummyKeystore = sync.OnceValue(func() []byte {
	ks, err := keys.NewKeystore("dummy")
	if err != nil {
		return nil
	}
	var pw [16]byte
	rand.Read(pw[:])
	b, _ := keys.Encrypt(ks, pw[:], keys.DefaultKDF)
	return b
})

// loginStatus is the HTTP status of a refusal by the sign-in policy.
func loginStatus(r signin.Reason) (int, string) {
	switch r {
	case signin.Locked:
		return http.StatusTooManyRequests, "access_denied"
	case signin.Unknown:
		return http.StatusUnauthorized, "invalid_grant"
	}
	return http.StatusForbidden, "access_denied"
}

// refusal is a sign-in refused, with its HTTP status and OAuth error code.
type refusal struct {
	status int
	code   string
	msg    string
}

// login is the person login: passphrase and TOTP code in one JSON request.
func (a *authenticator) login(w http.ResponseWriter, r *http.Request) {
	if a.keyring.Path == "" || a.g.SignIn == nil {
		oauthError(w, http.StatusNotFound, "invalid_request", "person login is not enabled on this node")
		return
	}
	var req loginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&req); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body must be JSON {keystore, passphrase, otp}: %v", err)
		return
	}
	ks, who, rf := a.signIn(r, req)
	if rf != nil {
		oauthError(w, rf.status, rf.code, "%s", rf.msg)
		return
	}
	a.issue(w, ks, who, a.g.Now().Add(loginLife), []byte(req.Passphrase))
}

// signIn is a person's sign-in at the gateway (the JSON login and the SMART authorization
// page). The sign-in policy is judged from what is known before the passphrase; only a
// lockout is told before the passphrase is proven. Then the passphrase, then the policy's
// other refusals, then the TOTP code. Every outcome is logged; a success that cannot be
// logged is refused.
func (a *authenticator) signIn(r *http.Request, req loginRequest) (*keys.Keystore, *identity.Identity, *refusal) {
	si := a.g.SignIn
	if a.keyring.Path == "" || si == nil {
		return nil, nil, &refusal{http.StatusNotFound, "invalid_request", "person sign-in is not enabled on this node"}
	}
	if req.Keystore == "" || req.Passphrase == "" {
		return nil, nil, &refusal{http.StatusBadRequest, "invalid_request", "keystore and passphrase are required, and otp (the code of your authenticator app)"}
	}
	now := a.g.Now()
	remote := clientAddr(r)
	ev := signin.Event{Entry: signin.Gateway.String(), Name: req.Keystore, Method: "passphrase", Remote: remote}
	record := func(event, reason string) error {
		ev.Time, ev.Event, ev.Reason = now.UTC(), event, reason
		return si.Record(ev)
	}
	refuse := func(event, reason string, status int, code, format string, args ...any) *refusal {
		if err := record(event, reason); err != nil {
			return &refusal{http.StatusServiceUnavailable, "temporarily_unavailable", signin.ErrNotRecorded.Error()}
		}
		return &refusal{status, code, fmt.Sprintf(format, args...)}
	}
	fail := func(reason, format string, args ...any) *refusal {
		if err := si.Fail(ev.ID, req.Keystore, remote, now); err != nil {
			return refuse(signin.EvSignInFailed, reason+" (not counted: "+err.Error()+")", http.StatusServiceUnavailable, "temporarily_unavailable", "the failed login could not be recorded: tell the node operator")
		}
		return refuse(signin.EvSignInFailed, reason, http.StatusUnauthorized, "invalid_grant", format, args...)
	}

	facts := signin.Facts{Entry: signin.Gateway, Now: now}
	data, err := a.keyring.Load(req.Keystore)
	if err == nil {
		if info, err := keys.PublicInfo(data); err == nil {
			ev.ID = info.ID
		}
	}
	var who *identity.Identity
	if ev.ID != "" {
		if who = identity.Get(a.g.b.View(), ev.ID); who != nil {
			ev.Role = string(who.Role)
			facts.Known, facts.Active, facts.Role = true, who.Active, string(who.Role)
			facts.Unlocked = a.isUnlocked(ev.ID)
			f := si.Factors().Get(ev.ID)
			facts.TOTP = f != nil && f.TOTPSecret != ""
		}
	}
	facts.Identity, facts.Remote = si.Failures(ev.ID, req.Keystore, remote)
	d := signin.Decide(facts, si.Limits())
	if d.Reason == signin.Locked {
		return nil, nil, refuse(signin.EvLocked, "too many failed sign-ins", http.StatusTooManyRequests, "access_denied", "%s", d.Message())
	}

	select {
	case a.logins <- struct{}{}:
		defer func() { <-a.logins }()
	case <-r.Context().Done():
		return nil, nil, &refusal{http.StatusServiceUnavailable, "temporarily_unavailable", "the request ended before the sign-in"}
	}
	var ks *keys.Keystore
	if ev.ID != "" {
		ks, err = keys.Decrypt(data, []byte(req.Passphrase))
	} else {
		keys.Decrypt(dummyKeystore(), []byte(req.Passphrase))
		err = fmt.Errorf("no keystore of that name")
	}
	if err == nil && ks.ID != ev.ID {
		err = fmt.Errorf("the keystore's public part names another identity")
	}
	if err != nil {
		return nil, nil, fail("wrong passphrase or unknown keystore", "wrong keystore name or passphrase")
	}
	keep := false
	defer func() {
		if !keep {
			wipe(ks)
		}
	}()
	if d.Allowed && !bytes.Equal(ks.Keys.SignPublic(), who.SignKey) {
		d = signin.Decision{Reason: signin.Deactivated}
	}
	if !d.Allowed {
		status, code := loginStatus(d.Reason)
		return nil, nil, refuse(signin.EvSignInRefused, d.Reason.String(), status, code, "keystore %s: %s", req.Keystore, d.Message())
	}

	ev.Method = "passphrase+totp"
	otp := strings.TrimSpace(req.OTP)
	if otp == "" {
		return nil, nil, fail("no second factor sent", "a second factor is required: send the current 6-digit code of your authenticator app as otp")
	}
	if err := si.Factors().Update(ev.ID, func(f *signin.Factors) error {
		if f.TOTPSecret == "" {
			return fmt.Errorf("no authenticator app is enrolled for this identity")
		}
		step, err := signin.CheckTOTP(f.TOTPSecret, otp, now, f.TOTPLastStep)
		if err != nil {
			return err
		}
		f.TOTPLastStep = step
		return nil
	}); err != nil {
		return nil, nil, fail("second factor: "+err.Error(), "second factor: %v", err)
	}
	if err := record(signin.EvSignIn, ""); err != nil {
		return nil, nil, &refusal{http.StatusServiceUnavailable, "temporarily_unavailable", signin.ErrNotRecorded.Error()}
	}
	si.Succeed(ev.ID) // if the reset cannot be written the run stays: stricter, never looser
	keep = true
	return ks, who, nil
}

// wipe overwrites a refused login's private keys rather than leave them to the collector.
func wipe(ks *keys.Keystore) {
	for _, kp := range append([]*keys.KeyPair{ks.Keys}, ks.Previous...) {
		if kp != nil {
			clear(kp.Sign)
			kp.Enc = nil
		}
	}
	for i := range ks.Category {
		ks.Category[i].Priv = nil
	}
}

// clientAddr is the client's host address, without the port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
		if s.grant != nil {
			if err := g.allowScope(r, s.grant); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ehrchain", error="insufficient_scope"`)
				writeErr(w, err)
				return
			}
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
