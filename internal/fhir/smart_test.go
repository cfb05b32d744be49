package fhir

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/signin"
)

const smartClient = "growth-app"

// smartEnv is a node with the gateway and portal (loginEnv), one SMART app registered, the
// patient "pat" and the provider "dr" enrolled with an authenticator app, and a few
// records: the patient's own, the provider's for the patient, another patient's.
type smartEnv struct {
	*loginEnv
	redirect string
	secrets  map[string]string
	pat, dr  string // identity ids
	other    *keys.Keystore
	recs     map[string]string // name -> "Type/id"
}

func startSMARTEnv(t *testing.T, redirect string) *smartEnv {
	e := &smartEnv{loginEnv: startLoginEnv(t), redirect: redirect, secrets: map[string]string{}, recs: map[string]string{}}
	apps, err := ParseApps(fmt.Appendf(nil, `{"apps": [{"client_id": %q, "name": "Growth Chart", "redirect_uris": [%q]}]}`, smartClient, redirect))
	if err != nil {
		t.Fatal(err)
	}
	e.apps = apps
	e.close()
	e.open()
	e.pat, e.dr = e.ids["pat"].ID, e.ids["dr"].ID
	e.secrets["pat"] = e.enrolAtPortal("pat")
	e.secrets["dr"] = e.secrets["pat"]
	if err := e.si.Factors().Update(e.dr, func(f *signin.Factors) error { f.TOTPSecret = e.secrets["dr"]; return nil }); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	other, err := keys.NewKeystore("other-patient")
	if err != nil {
		t.Fatal(err)
	}
	chainID, _ := e.r.Client.ChainIDOf(ctx)
	if _, err := e.r.Client.Send(ctx, e.ids["dr"], client.RegistrationFor(chainID, other, identity.Patient, "Olive Other", "", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Client.PublishCategories(ctx, other, []string{"general"}); err != nil {
		t.Fatal(err)
	}
	e.other = other

	patTok, drTok := e.loginToken("pat"), e.loginToken("dr")
	e.create(patTok, "patPatient", "PUT", "/Patient/"+e.pat, Object{"resourceType": "Patient", "id": e.pat, "name": []any{Object{"family": "Pat", "given": []any{"Pia"}}}, "birthDate": "1990-02-03"})
	e.create(patTok, "patObs", "POST", "/Observation", smartObs(e.pat, "72"))
	e.create(drTok, "drObs", "POST", "/Observation", smartObs(e.pat, "64"))
	e.create(drTok, "drCondition", "POST", "/Condition", Object{"resourceType": "Condition", "subject": Object{"reference": "Patient/" + e.pat},
		"code": Object{"coding": []any{Object{"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertension"}}}})
	e.create(drTok, "otherObs", "POST", "/Observation", smartObs(other.ID, "99"))
	return e
}

func smartObs(patient, bpm string) Object {
	return Object{"resourceType": "Observation", "status": "final", "subject": Object{"reference": "Patient/" + patient},
		"code":              Object{"coding": []any{Object{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}}},
		"effectiveDateTime": "2026-03-04T05:06:07Z",
		"valueQuantity":     Object{"value": json.Number(bpm), "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}
}

// otp moves the clock to the next TOTP step (each sign-in spends one) and returns the
// code of name's authenticator app.
func (e *smartEnv) otp(name string) string {
	e.clock.Add(30 * time.Second)
	return e.code(e.secrets[name], 0)
}

func (e *smartEnv) loginToken(name string) string {
	e.t.Helper()
	code, body := e.login(name, loginPass, e.otp(name))
	if code != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", name, code, body)
	}
	return tokenOf([]byte(body))
}

func (e *smartEnv) create(tok, name, method, path string, o Object) {
	e.t.Helper()
	status, _, b := e.fhirDo(tok, method, path, o)
	if status != http.StatusCreated && status != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", method, path, status, b)
	}
	var res Object
	json.Unmarshal(b, &res)
	e.recs[name] = fmt.Sprint(res["resourceType"], "/", res["id"])
}

// fhirDo sends one request to the gateway.
func (e *smartEnv) fhirDo(tok, method, path string, body any) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.fhir.URL+Prefix+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", FHIRJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// pkce is a fresh code verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	var b [32]byte
	rand.Read(b[:])
	verifier = base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authzQuery is a well-formed authorization request; tests spoil one part at a time.
func (e *smartEnv) authzQuery(scope, challenge string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {smartClient}, "redirect_uri": {e.redirect}, "scope": {scope},
		"state": {"st-123"}, "aud": {e.fhir.URL + Prefix}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
}

type answer struct {
	status   int
	location *url.URL
	body     string
}

func (e *smartEnv) send(method, path string, form url.Values) answer {
	e.t.Helper()
	var resp *http.Response
	var err error
	if method == "GET" {
		resp, err = noRedirect.Get(e.fhir.URL + Prefix + path + "?" + form.Encode())
	} else {
		resp, err = noRedirect.PostForm(e.fhir.URL+Prefix+path, form)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(b)}
	if loc := resp.Header.Get("Location"); loc != "" {
		a.location, _ = url.Parse(loc)
	}
	return a
}

var requestField = regexp.MustCompile(`name="request" value="([^"]+)"`)

// approve runs the person's part: the authorization request, the sign-in with passphrase
// and code, the approval. It returns the code sent back to the app.
func (e *smartEnv) approve(name, scope, challenge string) string {
	e.t.Helper()
	a := e.send("GET", "/auth/authorize", e.authzQuery(scope, challenge))
	m := requestField.FindStringSubmatch(a.body)
	if a.status != http.StatusOK || m == nil {
		e.t.Fatalf("authorize: %d %s", a.status, a.body)
	}
	a = e.send("POST", "/auth/authorize/signin", url.Values{"request": {m[1]}, "keystore": {name}, "passphrase": {loginPass}, "otp": {e.otp(name)}})
	if a.status != http.StatusOK || !strings.Contains(a.body, `id="approve"`) {
		e.t.Fatalf("sign-in at the authorization page: %d %s", a.status, a.body)
	}
	a = e.send("POST", "/auth/authorize/approve", url.Values{"request": {m[1]}, "decision": {"approve"}})
	if a.status != http.StatusSeeOther || a.location == nil || a.location.Query().Get("state") != "st-123" || a.location.Query().Get("code") == "" {
		e.t.Fatalf("approval: %d to %v %s", a.status, a.location, a.body)
	}
	if got := a.location.Scheme + "://" + a.location.Host + a.location.Path; got != e.redirect {
		e.t.Fatalf("approval went to %s, not the registered %s", got, e.redirect)
	}
	return a.location.Query().Get("code")
}

func (e *smartEnv) exchange(form url.Values) (int, smartTokenResponse, string) {
	e.t.Helper()
	resp, err := http.PostForm(e.fhir.URL+Prefix+"/auth/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var tr smartTokenResponse
	json.Unmarshal(b, &tr)
	return resp.StatusCode, tr, string(b)
}

func (e *smartEnv) codeForm(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.redirect}, "client_id": {smartClient}, "code_verifier": {verifier}}
}

// smartToken runs the whole flow for name and scope.
func (e *smartEnv) smartToken(name, scope string) smartTokenResponse {
	e.t.Helper()
	v, c := pkce()
	status, tr, body := e.exchange(e.codeForm(e.approve(name, scope, c), v))
	if status != http.StatusOK || tr.AccessToken == "" || tr.TokenType != "Bearer" {
		e.t.Fatalf("code exchange: %d %s", status, body)
	}
	return tr
}

// TestSMARTAuthorizeRefusals tries every way past the authorization request: an unknown
// client or a redirect URI not registered (a page: the redirect is not trusted), then,
// redirected back to the app with the state, no PKCE, the plain method, a challenge of the
// wrong form, an aud of another server, no state, another response type, and no scope a
// person could grant.
func TestSMARTAuthorizeRefusals(t *testing.T) {
	e := startSMARTEnv(t, "http://127.0.0.1:9/app/index.html")
	base := e.fhir.URL + Prefix

	// Discovery, without a token: the authorization endpoint, PKCE S256 only, the grant
	// types and the capabilities of the standalone launch; the CapabilityStatement names the
	// same endpoints.
	_, _, b := e.fhirDo("", "GET", "/.well-known/smart-configuration", nil)
	var sc struct {
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		Methods               []string `json:"code_challenge_methods_supported"`
		Grants                []string `json:"grant_types_supported"`
		Capabilities          []string `json:"capabilities"`
		Scopes                []string `json:"scopes_supported"`
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.AuthorizationEndpoint != base+"/auth/authorize" || sc.TokenEndpoint != base+"/auth/token" || !slices.Equal(sc.Methods, []string{"S256"}) ||
		!slices.Contains(sc.Grants, "authorization_code") || !slices.Contains(sc.Scopes, "patient/Observation.rs") {
		t.Fatalf("smart-configuration: %s", b)
	}
	for _, c := range []string{"launch-standalone", "client-public", "context-standalone-patient", "permission-v1", "permission-v2"} {
		if !slices.Contains(sc.Capabilities, c) {
			t.Errorf("smart-configuration without capability %s", c)
		}
	}
	if _, _, b := e.fhirDo("", "GET", "/metadata", nil); !strings.Contains(string(b), `{"url":"authorize","valueUri":"`+base+`/auth/authorize"}`) {
		t.Fatalf("CapabilityStatement without the authorize endpoint in oauth-uris")
	}

	_, challenge := pkce()
	spoil := func(k, v string) url.Values {
		q := e.authzQuery("launch/patient patient/Observation.rs", challenge)
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	pages := []struct {
		what string
		q    url.Values
		text string
	}{
		{"unknown client", spoil("client_id", "someone-else"), `client_id &#34;someone-else&#34; is not an app registered`},
		{"no client", spoil("client_id", ""), "is not an app registered"},
		{"other redirect", spoil("redirect_uri", "http://127.0.0.1:9/evil"), "is not registered for " + smartClient},
		{"redirect with a longer path", spoil("redirect_uri", e.redirect+"/x"), "is not registered"},
		{"redirect with a query added", spoil("redirect_uri", e.redirect+"?x=1"), "is not registered"},
		{"no redirect", spoil("redirect_uri", ""), "is not registered"},
		{"two redirects", func() url.Values {
			q := spoil("state", "st-123")
			q.Add("redirect_uri", "http://127.0.0.1:9/evil")
			return q
		}(), "redirect_uri is repeated"},
		{"two clients", func() url.Values { q := spoil("state", "st-123"); q.Add("client_id", "someone-else"); return q }(), "client_id is repeated"},
	}
	for _, c := range pages {
		a := e.send("GET", "/auth/authorize", c.q)
		if a.status != http.StatusBadRequest || a.location != nil || !strings.Contains(a.body, c.text) || strings.Contains(a.body, `name="passphrase"`) {
			t.Errorf("%s: %d to %v, want a 400 page with %q:\n%s", c.what, a.status, a.location, c.text, a.body)
		}
	}
	redirects := []struct {
		what       string
		q          url.Values
		code, text string
	}{
		{"no PKCE", spoil("code_challenge", ""), "invalid_request", "PKCE is required"},
		{"no PKCE method", spoil("code_challenge_method", ""), "invalid_request", "code_challenge_method must be S256"},
		{"plain PKCE", spoil("code_challenge_method", "plain"), "invalid_request", "code_challenge_method must be S256"},
		{"challenge not a SHA-256", spoil("code_challenge", "abc"), "invalid_request", "code_challenge must be"},
		{"aud of another server", spoil("aud", "https://fhir.example.org/r4"), "invalid_request", "aud must be this FHIR server's base URL"},
		{"no aud", spoil("aud", ""), "invalid_request", "aud must be"},
		{"no state", spoil("state", ""), "invalid_request", "state is required"},
		{"two challenges", func() url.Values { q := spoil("state", "st-123"); q.Add("code_challenge", challenge); return q }(), "invalid_request", "code_challenge is repeated"},
		{"implicit grant", spoil("response_type", "token"), "unsupported_response_type", "response_type must be code"},
		{"only identity scopes", spoil("scope", "openid fhirUser launch/patient"), "invalid_scope", "names no resource scope"},
		{"write scope only", spoil("scope", "patient/Observation.write"), "invalid_scope", "names no resource scope"},
		{"system scope", spoil("scope", "system/*.read"), "invalid_scope", "names no resource scope"},
		{"granular query scope", spoil("scope", "patient/Observation.rs?category=laboratory"), "invalid_scope", "names no resource scope"},
	}
	for _, c := range redirects {
		a := e.send("GET", "/auth/authorize", c.q)
		var got url.Values
		if a.location != nil {
			got = a.location.Query()
		}
		if a.status != http.StatusSeeOther || got.Get("error") != c.code || !strings.Contains(got.Get("error_description"), c.text) ||
			(c.what != "no state" && got.Get("state") != "st-123") || got.Get("code") != "" || !strings.HasPrefix(a.location.String(), e.redirect+"?") {
			t.Errorf("%s: %d to %v, want a redirect with error=%s (%q) and the state", c.what, a.status, a.location, c.code, c.text)
		}
	}

	// A wrong code at the authorization page is a failed sign-in like any other: counted,
	// logged, and the page asks again.
	a := e.send("GET", "/auth/authorize", e.authzQuery("patient/Observation.rs", challenge))
	id := requestField.FindStringSubmatch(a.body)[1]
	a = e.send("POST", "/auth/authorize/signin", url.Values{"request": {id}, "keystore": {"pat"}, "passphrase": {loginPass}, "otp": {e.code(e.secrets["pat"], 10*time.Minute)}})
	if a.status != http.StatusUnauthorized || !strings.Contains(a.body, "not right") || !strings.Contains(a.body, `name="otp"`) {
		t.Fatalf("wrong code at the authorization page: %d %s", a.status, a.body)
	}
	if a := e.send("POST", "/auth/authorize/approve", url.Values{"request": {id}, "decision": {"approve"}}); a.status != http.StatusBadRequest || a.location != nil {
		t.Fatalf("approval without a sign-in: %d to %v", a.status, a.location)
	}
	a = e.send("POST", "/auth/authorize/signin", url.Values{"request": {id}, "keystore": {"pat"}, "passphrase": {"guess"}, "otp": {e.otp("pat")}})
	if a.status != http.StatusUnauthorized || !strings.Contains(a.body, "wrong keystore name or passphrase") {
		t.Fatalf("wrong passphrase at the authorization page: %d %s", a.status, a.body)
	}
	if a := e.send("POST", "/auth/authorize/signin", url.Values{"request": {"made-up"}, "keystore": {"pat"}, "passphrase": {loginPass}, "otp": {e.otp("pat")}}); a.status != http.StatusBadRequest {
		t.Fatalf("sign-in for a made-up request: %d", a.status)
	}
	evs, _, err := e.si.Recent(100)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, ev := range evs {
		if ev.Entry == "fhir" && ev.Event == signin.EvSignInFailed && ev.ID == e.pat {
			failed = append(failed, ev.Reason)
		}
	}
	if len(failed) != 2 || !strings.HasPrefix(failed[1], "second factor") || failed[0] != "wrong passphrase or unknown keystore" {
		t.Fatalf("failed sign-ins at the authorization page in the log: %q", failed)
	}

	// The person may deny: the app hears access_denied and gets no code.
	a = e.send("GET", "/auth/authorize", e.authzQuery("patient/Observation.rs", challenge))
	id = requestField.FindStringSubmatch(a.body)[1]
	if a = e.send("POST", "/auth/authorize/signin", url.Values{"request": {id}, "keystore": {"pat"}, "passphrase": {loginPass}, "otp": {e.otp("pat")}}); a.status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", a.status, a.body)
	}
	a = e.send("POST", "/auth/authorize/approve", url.Values{"request": {id}, "decision": {"deny"}})
	if a.status != http.StatusSeeOther || a.location.Query().Get("error") != "access_denied" || a.location.Query().Get("code") != "" {
		t.Fatalf("denied: %d to %v", a.status, a.location)
	}

	// A provider gets no patient/ scope (there is no patient picker): asking only for those
	// ends in invalid_scope after the sign-in.
	a = e.send("GET", "/auth/authorize", e.authzQuery("launch/patient patient/*.read", challenge))
	id = requestField.FindStringSubmatch(a.body)[1]
	a = e.send("POST", "/auth/authorize/signin", url.Values{"request": {id}, "keystore": {"dr"}, "passphrase": {loginPass}, "otp": {e.otp("dr")}})
	if a.status != http.StatusSeeOther || a.location.Query().Get("error") != "invalid_scope" {
		t.Fatalf("provider asking for patient/ scopes: %d to %v %s", a.status, a.location, a.body)
	}
}

// TestSMARTCodeExchange tries every way past the token endpoint's authorization_code
// grant: no verifier, a wrong one (which spends the code), another redirect URI or client,
// client credentials from a public client, an expired code, and a replayed code, which
// revokes the token issued for it.
func TestSMARTCodeExchange(t *testing.T) {
	e := startSMARTEnv(t, "http://127.0.0.1:9/app/index.html")
	scope := "launch/patient patient/Observation.rs"
	refused := func(what string, form url.Values, status int, code, text string) {
		t.Helper()
		got, tr, body := e.exchange(form)
		if got != status || !strings.Contains(body, `"error":"`+code+`"`) || !strings.Contains(body, text) || tr.AccessToken != "" || !strings.Contains(body, "OperationOutcome") {
			t.Fatalf("%s: %d %s, want %d %s with %q", what, got, body, status, code, text)
		}
	}
	with := func(f url.Values, k, v string) url.Values {
		f = cloneForm(f)
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}

	v, c := pkce()
	code := e.approve("pat", scope, c)
	good := e.codeForm(code, v)
	refused("no verifier", with(good, "code_verifier", ""), 400, "invalid_request", "code_verifier is required")
	refused("no client_id", with(good, "client_id", ""), 400, "invalid_request", "client_id is required")
	refused("a client secret", with(good, "client_secret", "s3cret"), 400, "invalid_client", "public clients")
	other, _ := pkce()
	refused("wrong verifier", with(good, "code_verifier", other), 400, "invalid_grant", "code_verifier does not match the code_challenge")
	refused("the right verifier after a wrong one", good, 400, "invalid_grant", "already used")

	v, c = pkce()
	code = e.approve("pat", scope, c)
	refused("another redirect URI", with(e.codeForm(code, v), "redirect_uri", "http://127.0.0.1:9/app/other.html"), 400, "invalid_grant", "redirect_uri is not the one")
	v, c = pkce()
	code = e.approve("pat", scope, c)
	refused("another client", with(e.codeForm(code, v), "client_id", "other-app"), 400, "invalid_grant", "issued to another client")
	v, c = pkce()
	code = e.approve("pat", scope, c)
	refused("a short verifier", with(e.codeForm(code, v), "code_verifier", "short"), 400, "invalid_grant", "43-128 characters")
	refused("a made-up code", e.codeForm("made-up", v), 400, "invalid_grant", "unknown or expired")

	v, c = pkce()
	code = e.approve("pat", scope, c)
	e.clock.Add(codeLife + time.Second)
	refused("an expired code", e.codeForm(code, v), 400, "invalid_grant", "unknown or expired")

	// The right exchange, then the same code again: refused, and the token it got is revoked.
	v, c = pkce()
	code = e.approve("pat", scope, c)
	status, tr, body := e.exchange(e.codeForm(code, v))
	if status != http.StatusOK || tr.TokenType != "Bearer" || tr.ExpiresIn != int(loginLife.Seconds()) || tr.Patient != e.pat || tr.Scope != scope {
		t.Fatalf("exchange: %d %s", status, body)
	}
	if st, _, b := e.fhirDo(tr.AccessToken, "GET", "/Observation", nil); st != http.StatusOK {
		t.Fatalf("the token reads nothing: %d %s", st, b)
	}
	refused("a replayed code", e.codeForm(code, v), 400, "invalid_grant", "the token issued for it is revoked")
	if st, h, _ := e.fhirDo(tr.AccessToken, "GET", "/Observation", nil); st != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("the token of a replayed code still reads: %d", st)
	}
	// The exchange does not open the other grant type's door: no assertion, no token.
	refused("client_credentials without an assertion", url.Values{"grant_type": {"client_credentials"}, "client_id": {smartClient}}, 400, "invalid_request", "client_assertion_type")
}

func cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = slices.Clone(v)
	}
	return out
}

// TestSMARTScopes: a SMART token reads what its scopes allow and no more, held to its
// patient's compartment for patient/ scopes, and consent still decides every read (a
// provider's user/ token gets the ledger's audited denial). Every request here is one an
// app could send; the expected refusals name the rule that refused.
func TestSMARTScopes(t *testing.T) {
	e := startSMARTEnv(t, "http://127.0.0.1:9/app/index.html")
	rec := e.recs
	obsOnly := e.smartToken("pat", "launch/patient patient/Observation.rs").AccessToken
	v1 := e.smartToken("pat", "patient/Observation.read").AccessToken
	readOnly := e.smartToken("pat", "patient/Observation.r").AccessToken
	all := e.smartToken("pat", "launch/patient patient/*.read openid fhirUser")
	drUser := e.smartToken("dr", "user/Observation.read patient/*.read launch/patient")
	if all.Scope != "launch/patient patient/*.read" || all.Patient != e.pat {
		t.Fatalf("granted to the patient: %q (patient %q), want the read scopes without openid and fhirUser", all.Scope, all.Patient)
	}
	if drUser.Scope != "user/Observation.read" || drUser.Patient != "" {
		t.Fatalf("granted to the provider: %q (patient %q), want user/Observation.read only", drUser.Scope, drUser.Patient)
	}

	type want struct {
		status int
		text   string // in the body
	}
	ok := want{http.StatusOK, ""}
	outside := want{http.StatusForbidden, "for the records of patient " + e.pat + " only"}
	cases := []struct {
		what, tok, method, path string
		w                       want
	}{
		{"Observation search (v2 rs)", obsOnly, "GET", "/Observation", want{200, rec["patObs"]}},
		{"Observation read (v2 rs)", obsOnly, "GET", "/" + rec["drObs"], want{200, `"value":64`}},
		{"Observation search (v1 read)", v1, "GET", "/Observation?patient=" + e.pat, want{200, rec["drObs"]}},
		{"Observation read (v2 r only)", readOnly, "GET", "/" + rec["patObs"], want{200, `"value":72`}},
		{"Observation search with r only", readOnly, "GET", "/Observation", want{403, "do not allow searching Observation"}},
		{"Condition with an Observation token", obsOnly, "GET", "/Condition", want{403, "do not allow searching Condition"}},
		{"Condition read with an Observation token", obsOnly, "GET", "/" + rec["drCondition"], want{403, "do not allow reading Condition"}},
		{"Patient with an Observation token", obsOnly, "GET", "/Patient/" + e.pat, want{403, "do not allow reading Patient"}},
		{"write with a read token", all.AccessToken, "POST", "/Observation", want{403, "grant reads only"}},
		{"delete with a read token", all.AccessToken, "DELETE", "/" + rec["patObs"], want{403, "grant reads only"}},
		{"$everything with an Observation token", obsOnly, "GET", "/Patient/" + e.pat + "/$everything", want{403, "operation or _include across types"}},
		{"_include with an Observation token", obsOnly, "GET", "/Observation?_include=Observation:patient", want{403, "operation or _include across types"}},
		{"_revinclude with an Observation token", obsOnly, "GET", "/Observation?_revinclude=Provenance:target", want{403, "operation or _include across types"}},
		{"system history", all.AccessToken, "GET", "/_history", want{403, "system-level interactions"}},
		{"Consent is outside SMART scopes", all.AccessToken, "GET", "/Consent?patient=" + e.pat, want{403, "Consent is outside SMART app scopes"}},
		{"AuditEvent is outside SMART scopes", all.AccessToken, "GET", "/AuditEvent?patient=" + e.pat, want{403, "AuditEvent is outside SMART app scopes"}},
		{"another patient's Observation by id", obsOnly, "GET", "/" + rec["otherObs"], outside},
		{"another patient's Observation, wildcard", all.AccessToken, "GET", "/" + rec["otherObs"], outside},
		{"search another patient", obsOnly, "GET", "/Observation?patient=" + e.other.ID, outside},
		{"search another patient as subject", obsOnly, "GET", "/Observation?subject=Patient/" + e.other.ID, outside},
		{"search both patients", obsOnly, "GET", "/Observation?patient=" + e.pat + "&patient=" + e.other.ID, outside},
		{"another Patient", all.AccessToken, "GET", "/Patient/" + e.other.ID, outside},
		{"chained search", obsOnly, "GET", "/Observation?patient.family=Other", want{403, "chained search"}},
		{"wildcard: Condition", all.AccessToken, "GET", "/Condition", want{200, rec["drCondition"]}},
		{"wildcard: own Patient", all.AccessToken, "GET", "/Patient/" + e.pat, want{200, `"family":"Pat"`}},
		{"wildcard: Patient search", all.AccessToken, "GET", "/Patient", want{200, `"id":"` + e.pat + `"`}},
		{"type history of the patient's own", obsOnly, "GET", "/Observation/_history", want{200, rec["patObs"]}},
		{"instance history", obsOnly, "GET", "/" + rec["drObs"] + "/_history", want{200, `"value":64`}},
		{"instance history, other patient", obsOnly, "GET", "/" + rec["otherObs"] + "/_history", outside},
		{"wildcard: $everything", all.AccessToken, "GET", "/Patient/" + e.pat + "/$everything", want{200, rec["drCondition"]}},
		{"provider: own record", drUser.AccessToken, "GET", "/" + rec["drObs"], ok},
		{"provider: Condition outside the scopes", drUser.AccessToken, "GET", "/" + rec["drCondition"], want{403, "do not allow reading Condition"}},
		{"provider: the patient's own record, no grant", drUser.AccessToken, "GET", "/" + rec["patObs"], want{403, "consent"}},
	}
	for _, c := range cases {
		var body any
		if c.method == "POST" {
			body = smartObs(e.pat, "80")
		}
		status, _, b := e.fhirDo(c.tok, c.method, c.path, body)
		if status != c.w.status || !strings.Contains(string(b), c.w.text) || (status >= 400 && !strings.Contains(string(b), `"OperationOutcome"`)) {
			t.Errorf("%s: %s %s: %d %.400s\nwant %d with %q", c.what, c.method, c.path, status, b, c.w.status, c.w.text)
		}
	}

	// Break-glass is not for apps, even the provider's own, even for a type in scope.
	req, _ := http.NewRequest("GET", e.fhir.URL+Prefix+"/"+rec["patObs"], nil)
	req.Header.Set("Authorization", "Bearer "+drUser.AccessToken)
	req.Header.Set("X-Purpose-Of-Use", "emergency")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "not open to SMART app tokens") {
			t.Fatalf("emergency purpose with a SMART token: %d %s", resp.StatusCode, b)
		}
	}

	// The search of the Observation token found the patient's two Observations and not the
	// other patient's.
	_, _, b := e.fhirDo(obsOnly, "GET", "/Observation", nil)
	var bundle Object
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	got := ids(t, bundle)
	slices.Sort(got)
	wantIDs := []string{strings.TrimPrefix(rec["patObs"], "Observation/"), strings.TrimPrefix(rec["drObs"], "Observation/")}
	slices.Sort(wantIDs)
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("Observation search of the patient's token: %v, want %v", got, wantIDs)
	}

	// The provider's denial was the ledger's, and it is in the audit trail; the refusals of
	// the patient's tokens for the other patient's record were the gateway's, before any
	// read reached the ledger.
	v := e.r.Node.View()
	page, err := audit.Query(v, nil, audit.Filter{Actor: e.dr, Outcome: audit.Denied})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(page.Events, func(ev *audit.Event) bool { return "Observation/"+ev.Record == rec["patObs"] }) {
		t.Fatalf("the provider's denied read of %s is not in the audit trail: %d denials", rec["patObs"], len(page.Events))
	}
	page, err = audit.Query(v, nil, audit.Filter{Actor: e.pat, Patient: e.other.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 0 {
		t.Fatalf("the patient's scope refusals reached the ledger: %+v", page.Events[0])
	}

	// CORS: the registered app's origin gets its preflight and its headers; another origin
	// gets none.
	for _, c := range []struct {
		origin string
		want   bool
	}{{"http://127.0.0.1:9", true}, {"https://evil.example", false}, {"http://127.0.0.1:10", false}} {
		req, _ := http.NewRequest("OPTIONS", e.fhir.URL+Prefix+"/Observation", nil)
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin") == c.origin && resp.StatusCode == http.StatusNoContent &&
			strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")
		if got != c.want || (!c.want && resp.Header.Get("Access-Control-Allow-Origin") != "") {
			t.Errorf("preflight from %s: %d, allow-origin %q", c.origin, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}

	// A SMART token is for the gateway and its scopes only: the node's API, which takes the
	// gateway's login and JWT tokens for EPCIS, does not take it.
	if e.gw.Keystore(all.AccessToken) != nil || e.gw.Keystore(e.loginToken("pat")) == nil {
		t.Fatal("the API resolves a SMART token to its keystore (or no longer resolves a login token)")
	}
}
