package fhir

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// authCode is an approved authorization, until its one exchange.
type authCode struct {
	client, redirect, challenge string
	expires                     time.Time
	ks                          *keys.Keystore
	who                         *identity.Identity
	pass                        []byte
	grant                       *smartGrant
	used                        bool
	token                       string // issued for it: revoked if the code comes again
}

// smartTokenResponse is the token endpoint's answer to an app (App Launch 2.0).
type smartTokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	Patient     string `json:"patient,omitempty"`
}

// newCode turns an approved request into a one-time code.
func (a *authenticator) newCode(p *pendingAuth) string {
	var b [32]byte
	rand.Read(b[:])
	code := base64.RawURLEncoding.EncodeToString(b[:])
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.g.Now()
	for k, c := range a.codes {
		// A used code is kept until it would have expired, so that a replay is known.
		if now.After(c.expires) {
			delete(a.codes, k)
			if !c.used {
				wipe(c.ks)
			}
		}
	}
	a.codes[code] = &authCode{client: p.app.ClientID, redirect: p.redirect, challenge: p.challenge, expires: now.Add(codeLife),
		ks: p.ks, who: p.who, pass: p.pass, grant: p.grant}
	return code
}

// verifierForm reports whether v is a PKCE code verifier (RFC 7636 section 4.1).
func verifierForm(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	return !strings.ContainsFunc(v, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' || r == '~')
	})
}

// pkceMatches checks a verifier against an S256 challenge.
func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// exchangeCode is grant_type=authorization_code. A code is good for one presentation:
// the first, right or wrong, consumes it; a code presented again revokes the token issued
// for it (RFC 6749 section 4.1.2), since someone else holds it.
func (a *authenticator) exchangeCode(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	for _, k := range []string{"code", "redirect_uri", "client_id", "code_verifier"} {
		if len(f[k]) != 1 || f.Get(k) == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "%s is required, once (a public client sends client_id and its PKCE code_verifier)", k)
			return
		}
	}
	if f.Get("client_assertion") != "" || f.Get("client_secret") != "" || r.Header.Get("Authorization") != "" {
		oauthError(w, http.StatusBadRequest, "invalid_client", "apps are public clients here: send client_id and code_verifier, no client credentials")
		return
	}
	a.mu.Lock()
	now := a.g.Now()
	c := a.codes[f.Get("code")]
	if c != nil && c.used {
		revoked := c.token != "" && a.sessions[c.token] != nil
		delete(a.sessions, c.token)
		a.mu.Unlock()
		msg := "the authorization code was already used"
		if revoked {
			msg += ": the token issued for it is revoked"
		}
		oauthError(w, http.StatusBadRequest, "invalid_grant", "%s", msg)
		return
	}
	if c == nil || now.After(c.expires) {
		a.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code is unknown or expired (codes last %s)", codeLife)
		return
	}
	c.used = true
	var why string
	switch {
	case f.Get("client_id") != c.client:
		why = "the code was issued to another client"
	case f.Get("redirect_uri") != c.redirect:
		why = "redirect_uri is not the one of the authorization request"
	case !verifierForm(f.Get("code_verifier")):
		why = "code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~"
	case !pkceMatches(f.Get("code_verifier"), c.challenge):
		why = "code_verifier does not match the code_challenge"
	}
	if why != "" {
		ks := c.ks
		c.ks, c.pass = nil, nil
		a.mu.Unlock()
		wipe(ks)
		oauthError(w, http.StatusBadRequest, "invalid_grant", "%s; the code is spent: start the authorization again", why)
		return
	}
	expires := now.Add(loginLife)
	c.token = a.openLocked(&session{ks: c.ks, who: c.who, expires: expires, pass: c.pass, grant: c.grant}, now)
	c.ks, c.pass = nil, nil
	c.expires = expires // kept while its token lives, so that a replay revokes it
	tok := c.token
	a.mu.Unlock()
	resp := smartTokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(expires.Sub(now).Seconds()), Scope: c.grant.scope()}
	if c.grant.launch {
		resp.Patient = c.grant.patient
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}
