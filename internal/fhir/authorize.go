package fhir

import (
	"crypto/rand"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// The SMART App Launch standalone flow (App Launch 2.0): a registered public app sends the
// person's browser to /auth/authorize with PKCE (S256 only). The person signs in there as
// at the JSON login (passphrase and TOTP code, under the node's one sign-in policy), sees
// the scopes that would be granted and approves; the browser goes back to the app's
// registered redirect URI with a one-time code, which the app exchanges at /auth/token
// with its code verifier. The pages and the codes live in this node's memory only.
const (
	pendingLife = 10 * time.Minute // from the authorization request to the approval
	codeLife    = time.Minute      // an authorization code, between approval and exchange
	maxPending  = 10000            // authorization requests held at once
)

//go:embed templates/smart.html
var smartTemplates embed.FS

var smartPages = template.Must(template.ParseFS(smartTemplates, "templates/smart.html"))

// pendingAuth is an authorization request being signed in and approved.
type pendingAuth struct {
	app                               *App
	redirect, state, scope, challenge string
	expires                           time.Time
	// after the sign-in
	ks    *keys.Keystore
	who   *identity.Identity
	pass  []byte
	grant *smartGrant
}

// authError is an authorization request refused. With redirect, it goes back to the app
// (RFC 6749 section 4.1.2.1); without, the redirect URI itself is not trusted and the
// person gets a page.
type authError struct {
	code, msg string
	redirect  bool
}

func (g *Gateway) authorizeRoutes(m *http.ServeMux) {
	m.HandleFunc("GET "+Prefix+"/auth/authorize", g.auth.authorize)
	m.HandleFunc("POST "+Prefix+"/auth/authorize", g.auth.authorize)
	m.HandleFunc("POST "+Prefix+"/auth/authorize/signin", g.auth.authorizeSignIn)
	m.HandleFunc("POST "+Prefix+"/auth/authorize/approve", g.auth.authorizeApprove)
}

// checkAuthorize validates an authorization request: the client and its redirect URI
// first (an error before they are known is a page), then the rest (an error redirects).
func checkAuthorize(q url.Values, apps *Apps, base string) (*pendingAuth, *authError) {
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(q[k]) > 1 {
			return nil, &authError{"invalid_request", k + " is repeated", false}
		}
	}
	app := apps.Get(q.Get("client_id"))
	if app == nil {
		return nil, &authError{"invalid_request", "client_id " + strconvQuote(q.Get("client_id")) + " is not an app registered with this server", false}
	}
	ru := q.Get("redirect_uri")
	if !app.redirects(ru) {
		return nil, &authError{"invalid_request", "redirect_uri " + strconvQuote(ru) + " is not registered for " + app.ClientID, false}
	}
	p := &pendingAuth{app: app, redirect: ru, state: q.Get("state"), scope: q.Get("scope"), challenge: q.Get("code_challenge")}
	back := func(code, msg string) (*pendingAuth, *authError) { return p, &authError{code, msg, true} }
	for _, k := range []string{"response_type", "scope", "state", "aud", "code_challenge", "code_challenge_method"} {
		if len(q[k]) > 1 {
			return back("invalid_request", k+" is repeated")
		}
	}
	switch {
	case q.Get("response_type") != "code":
		return back("unsupported_response_type", "response_type must be code")
	case p.state == "":
		return back("invalid_request", "state is required")
	case strings.TrimSuffix(q.Get("aud"), "/") != base:
		return back("invalid_request", "aud must be this FHIR server's base URL, "+base)
	case p.challenge == "":
		return back("invalid_request", "PKCE is required: send code_challenge and code_challenge_method=S256")
	case q.Get("code_challenge_method") != "S256":
		return back("invalid_request", "code_challenge_method must be S256")
	case !challengeForm(p.challenge):
		return back("invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)")
	case !requestedRules(p.scope):
		return back("invalid_scope", "scope names no resource scope this server grants (patient/ or user/ Type.read, .rs, .r or .s)")
	}
	return p, nil
}

func challengeForm(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == 32
}

func strconvQuote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return `"` + s + `"`
}

// redirectTo sends the browser back to the app with params (and the request's state).
func redirectTo(w http.ResponseWriter, r *http.Request, p *pendingAuth, params url.Values) {
	u, _ := url.Parse(p.redirect) // checked at registration
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if p.state != "" {
		q.Set("state", p.state)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func redirectError(w http.ResponseWriter, r *http.Request, p *pendingAuth, code, msg string) {
	redirectTo(w, r, p, url.Values{"error": {code}, "error_description": {msg}})
}

// page renders one of the authorization pages; they run no script and are never framed.
func page(w http.ResponseWriter, status int, name string, data map[string]any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	smartPages.ExecuteTemplate(w, name, data)
}

func errorPage(w http.ResponseWriter, status int, msg string) {
	page(w, status, "error", map[string]any{"Title": "Cannot connect the app", "Error": msg})
}

func (a *authenticator) authorize(w http.ResponseWriter, r *http.Request) {
	if a.keyring.Path == "" || a.g.SignIn == nil {
		errorPage(w, http.StatusNotFound, "Signing in to apps is not enabled on this node.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "The authorization request cannot be read: "+err.Error())
		return
	}
	p, ae := checkAuthorize(r.Form, a.g.Apps, baseURL(r))
	if ae != nil {
		if ae.redirect {
			redirectError(w, r, p, ae.code, ae.msg)
		} else {
			errorPage(w, http.StatusBadRequest, ae.msg)
		}
		return
	}
	now := a.g.Now()
	p.expires = now.Add(pendingLife)
	var b [32]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	a.mu.Lock()
	for k, q := range a.pending {
		if now.After(q.expires) {
			delete(a.pending, k)
			q.drop()
		}
	}
	full := len(a.pending) >= maxPending
	if !full {
		a.pending[id] = p
	}
	a.mu.Unlock()
	if full {
		redirectError(w, r, p, "temporarily_unavailable", "too many authorization requests in progress: try again later")
		return
	}
	signInPage(w, http.StatusOK, p, id, "")
}

func signInPage(w http.ResponseWriter, status int, p *pendingAuth, id, msg string) {
	page(w, status, "signin", map[string]any{"Title": "Sign in to connect " + p.app.Name, "App": p.app, "ID": id, "Error": msg,
		"Action": Prefix + "/auth/authorize/signin"})
}

// take finds a pending request by its page's id; remove takes it out.
func (a *authenticator) take(id string, remove bool) *pendingAuth {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pending[id]
	if p == nil || a.g.Now().After(p.expires) {
		return nil
	}
	if remove {
		delete(a.pending, id)
	}
	return p
}

// drop wipes the keys of a request that will issue no code.
func (p *pendingAuth) drop() {
	if p.ks != nil {
		wipe(p.ks)
		p.ks = nil
	}
}

func (a *authenticator) authorizeSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "The sign-in form cannot be read: "+err.Error())
		return
	}
	id := r.PostForm.Get("request")
	p := a.take(id, false)
	if p == nil {
		errorPage(w, http.StatusBadRequest, "This sign-in page has expired or was already used.")
		return
	}
	ks, who, rf := a.signIn(r, loginRequest{Keystore: r.PostForm.Get("keystore"), Passphrase: r.PostForm.Get("passphrase"), OTP: r.PostForm.Get("otp")})
	if rf != nil {
		signInPage(w, rf.status, p, id, rf.msg)
		return
	}
	grant := grantScopes(p.scope, who, p.app.ClientID)
	if grant == nil {
		wipe(ks)
		if a.take(id, true) == nil {
			errorPage(w, http.StatusBadRequest, "This sign-in page has expired or was already used.")
			return
		}
		redirectError(w, r, p, "invalid_scope", "none of the requested scopes can be granted to a "+string(who.Role)+" (patient/ scopes are for patients; a provider asks for user/ scopes)")
		return
	}
	a.mu.Lock()
	if a.pending[id] != p || p.ks != nil { // taken meanwhile, or signed in twice
		a.mu.Unlock()
		wipe(ks)
		errorPage(w, http.StatusConflict, "This sign-in page was already used.")
		return
	}
	p.ks, p.who, p.pass, p.grant = ks, who, []byte(r.PostForm.Get("passphrase")), grant
	a.mu.Unlock()

	type line struct{ Scope, Means string }
	var lines []line
	if grant.launch {
		lines = append(lines, line{"launch/patient", "know who you are (your patient id)"})
	}
	for _, ru := range grant.rules {
		lines = append(lines, line{ru.String(), ru.means()})
	}
	var dropped []string
	granted := strings.Fields(grant.scope())
	for _, s := range strings.Fields(p.scope) {
		if !contains(granted, s) && !contains(granted, normalScope(s)) {
			dropped = append(dropped, s)
		}
	}
	page(w, http.StatusOK, "approve", map[string]any{"Title": "Connect " + p.app.Name + "?", "App": p.app, "ID": id,
		"Who": who.Name + " (" + string(who.Role) + " " + who.ID + ")", "Redirect": p.redirect, "Scopes": lines, "Dropped": dropped,
		"Life": "15 minutes", "Action": Prefix + "/auth/authorize/approve"})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// normalScope is how a requested scope reads once granted (its read part), or "".
func normalScope(s string) string {
	if r, ok := parseRule(s); ok {
		return r.String()
	}
	return ""
}

// means says in words what a rule lets the app read.
func (r scopeRule) means() string {
	what := "your " + r.typ + " records"
	if r.typ == "*" {
		what = "all your records"
	}
	if !r.patient {
		what = strings.Replace(what, "your ", "", 1) + " that you may read"
		if r.typ == "*" {
			what = "every record you may read"
		}
	}
	switch {
	case r.read && r.search:
		return "read and search " + what
	case r.read:
		return "read " + what + " by id"
	}
	return "search " + what
}

func (a *authenticator) authorizeApprove(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "The approval form cannot be read: "+err.Error())
		return
	}
	id := r.PostForm.Get("request")
	a.mu.Lock()
	p := a.pending[id]
	if p == nil || p.ks == nil || a.g.Now().After(p.expires) {
		a.mu.Unlock()
		errorPage(w, http.StatusBadRequest, "This approval page has expired or was already used: sign in again from the app.")
		return
	}
	delete(a.pending, id)
	a.mu.Unlock()
	if r.PostForm.Get("decision") != "approve" {
		p.drop()
		redirectError(w, r, p, "access_denied", "the person did not approve the app")
		return
	}
	code := a.newCode(p)
	redirectTo(w, r, p, url.Values{"code": {code}})
}
