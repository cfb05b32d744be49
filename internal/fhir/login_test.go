package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	ehrnode "github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/portal"
	"github.com/ehrchain/ehrchain/internal/signin"
)

// testClock is the gateway's and portal's clock: TOTP steps and lockouts move when the test
// says so. The node keeps real time.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// loginEnv is a real node whose keys directory holds the cast's keystores, with the FHIR
// gateway and the web portal sharing one sign-in state, as `ehrchain start` runs them.
type loginEnv struct {
	t     *testing.T
	home  string
	r     *nodetest.Running
	clock *testClock
	ids   map[string]*keys.Keystore // by keystore name
	si    *signin.Service
	fhir  *httptest.Server
	web   *httptest.Server
	pt    *portal.Portal
	gw    *Gateway
	apps  *Apps // the SMART apps the gateway knows (smart_test.go)
}

const loginPass = "login test passphrase"

func startLoginEnv(t *testing.T) *loginEnv {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cast := nodetest.RegisterCast(t, ctx, r.Client, reg)
	other, err := keys.NewKeystore("dr-other")
	if err != nil {
		t.Fatal(err)
	}
	chainID, _ := r.Client.ChainIDOf(ctx)
	if _, err := r.Client.Send(ctx, reg, client.RegistrationFor(chainID, other, identity.Provider, "Dr Other", "City Clinic", "MD-9")); err != nil {
		t.Fatal(err)
	}
	e := &loginEnv{t: t, home: home, r: r, clock: &testClock{t: time.Now()},
		ids: map[string]*keys.Keystore{"pat": cast.Patient, "dr": cast.Provider, "dr-other": other, "auditor": cast.Auditor, "reg": reg}}
	ring := keys.Dir{Path: ehrnode.Paths{Home: home}.Keys()}
	for name, ks := range e.ids {
		b, err := keys.Encrypt(ks, []byte(loginPass), keys.TestKDF)
		if err != nil {
			t.Fatal(err)
		}
		if err := ring.Save(name, b); err != nil {
			t.Fatal(err)
		}
	}
	e.open()
	return e
}

// open starts the sign-in state, the gateway (provider "dr" unlocked, "dr-other" not) and the
// portal, as a node start does; close stops them.
func (e *loginEnv) open() {
	t := e.t
	si, err := signin.Open(filepath.Join(e.home, "portal"), signin.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	gw := New(e.r.Node, e.r.Server, keys.Dir{Path: ehrnode.Paths{Home: e.home}.Keys()})
	gw.Now, gw.SignIn, gw.Apps, e.gw = e.clock.Now, si, e.apps, gw
	gw.Unlock(e.ids["dr"])
	mux := http.NewServeMux()
	mux.Handle(Prefix+"/", gw)
	pt, err := portal.New(portal.Config{Home: e.home, API: e.r.Server, SignIn: si, Now: e.clock.Now, KDF: keys.TestKDF, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	e.si, e.pt, e.fhir, e.web = si, pt, httptest.NewServer(mux), httptest.NewServer(pt)
	t.Cleanup(e.close)
}

func (e *loginEnv) close() {
	if e.si == nil {
		return
	}
	e.fhir.Close()
	e.web.Close()
	e.pt.Close()
	e.si.Close()
	e.si = nil
}

// login posts a person login and returns the status and the answer.
func (e *loginEnv) login(name, pass, otp string) (int, string) {
	e.t.Helper()
	b, _ := json.Marshal(loginRequest{Keystore: name, Passphrase: pass, OTP: otp})
	resp, err := http.Post(e.fhir.URL+Prefix+"/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// code is the TOTP code of secret at the test clock's time plus d.
func (e *loginEnv) code(secret string, d time.Duration) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now().Add(d))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enrolAtPortal signs name in at the web portal for the first time and enrols an
// authenticator app there, as a person would; it returns the TOTP secret.
func (e *loginEnv) enrolAtPortal(name string) string {
	t := e.t
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) *http.Response {
		resp, err := c.PostForm(e.web.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("/portal/signin", url.Values{"name": {name}, "passphrase": {loginPass}}); resp.Header.Get("Location") != "/portal/enrol" {
		t.Fatalf("portal sign-in of %s: %d to %q", name, resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err := c.Get(e.web.URL + "/portal/enrol")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	secret := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindSubmatch(page)
	csrf := regexp.MustCompile(`data-csrf="([^"]+)"`).FindSubmatch(page)
	if secret == nil || csrf == nil {
		t.Fatalf("enrolment page without a secret or CSRF token:\n%.600s", page)
	}
	if resp := post("/portal/enrol/totp", url.Values{"code": {e.code(string(secret[1]), 0)}, "csrf": {string(csrf[1])}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("portal enrolment of %s: %d", name, resp.StatusCode)
	}
	return string(secret[1])
}

// portalSignIn posts a passphrase at the portal and returns the status.
func (e *loginEnv) portalSignIn(name, pass string) int {
	e.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(e.web.URL+"/portal/signin", url.Values{"name": {name}, "passphrase": {pass}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPersonLoginPolicy tries every way past the FHIR person login on a real node: no second
// factor, a wrong or replayed code, the registrar, an auditor, a provider not unlocked on
// this gateway, guessing until locked, a restart to shake off the lock, and a lockout
// earned at the other entry point. Then the sign-in log must hold every attempt.
func TestPersonLoginPolicy(t *testing.T) {
	e := startLoginEnv(t)
	type want struct {
		status int
		text   string
		event  string // in the sign-in log
	}
	step := func(what, name, pass, otp string, w want) string {
		t.Helper()
		code, body := e.login(name, pass, otp)
		if code != w.status || !strings.Contains(body, w.text) {
			t.Fatalf("%s: %d %s, want %d with %q", what, code, body, w.status, w.text)
		}
		if code != http.StatusOK && !strings.Contains(body, "OperationOutcome") {
			t.Fatalf("%s: refusal without an OperationOutcome: %s", what, body)
		}
		return tokenOf([]byte(body))
	}
	refusedNoFactor := want{http.StatusForbidden, "a second factor is required", signin.EvSignInRefused}

	// A patient who never enrolled a second factor gets no token, passphrase or not.
	step("patient without a factor", "pat", loginPass, "", refusedNoFactor)
	step("patient without a factor, made-up code", "pat", loginPass, "123456", refusedNoFactor)

	// Enrolled at the portal, the patient needs the code in the same request.
	secret := e.enrolAtPortal("pat")
	e.clock.Add(30 * time.Second) // the enrolment used this step's code
	step("no code", "pat", loginPass, "", want{http.StatusUnauthorized, "second factor is required", signin.EvSignInFailed})
	step("wrong code", "pat", loginPass, e.code(secret, 10*time.Minute), want{http.StatusUnauthorized, "not right", signin.EvSignInFailed})
	good := e.code(secret, 0)
	tok := step("passphrase and code", "pat", loginPass, good, want{http.StatusOK, "access_token", signin.EvSignIn})
	if tok == "" {
		t.Fatal("no token")
	}
	step("replayed code", "pat", loginPass, good, want{http.StatusUnauthorized, "already used", signin.EvSignInFailed})

	// Roles that never get a person-login token, whatever factors they hold.
	for _, name := range []string{"reg", "auditor", "dr-other", "dr"} {
		if err := e.si.Factors().Update(e.ids[name].ID, func(f *signin.Factors) error { f.TOTPSecret = secret; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	step("registrar", "reg", loginPass, e.code(secret, 0), want{http.StatusForbidden, "the registrar never gets a gateway token", signin.EvSignInRefused})
	step("registrar, wrong passphrase", "reg", "guess", "", want{http.StatusUnauthorized, "wrong keystore name or passphrase", signin.EvSignInFailed})
	step("auditor", "auditor", loginPass, e.code(secret, 0), want{http.StatusForbidden, "do not log in as persons", signin.EvSignInRefused})
	step("provider not unlocked here", "dr-other", loginPass, e.code(secret, 0), want{http.StatusForbidden, "not unlocked on this gateway", signin.EvSignInRefused})
	step("provider unlocked, with a code", "dr", loginPass, e.code(secret, 0), want{http.StatusOK, "access_token", signin.EvSignIn})
	step("unknown keystore", "nobody", "guess", "", want{http.StatusUnauthorized, "wrong keystore name or passphrase", signin.EvSignInFailed})

	// Guessing locks the patient (one failure already counts since the last success): then
	// even the right passphrase and code are refused before the passphrase is tried.
	for i := range 4 {
		step("guess", "pat", "guess "+string(rune('a'+i)), "", want{http.StatusUnauthorized, "wrong keystore name or passphrase", signin.EvSignInFailed})
	}
	e.clock.Add(30 * time.Second)
	locked := want{http.StatusTooManyRequests, "too many failed sign-ins", signin.EvLocked}
	step("right login while locked", "pat", loginPass, e.code(secret, 0), locked)

	// A restart of the gateway and its sign-in state keeps the lock, and it holds at the
	// portal too: one lockout for both entry points.
	e.close()
	e.open()
	step("after a restart", "pat", loginPass, e.code(secret, 0), locked)
	if code := e.portalSignIn("pat", loginPass); code != http.StatusTooManyRequests {
		t.Fatalf("portal sign-in of a patient locked at the FHIR login: %d", code)
	}
	e.clock.Add(15*time.Minute + time.Second)
	step("after the lock ends", "pat", loginPass, e.code(secret, 0), want{http.StatusOK, "access_token", signin.EvSignIn})

	// And the other way: failures at the portal lock the FHIR login.
	for range 5 {
		if code := e.portalSignIn("dr", "guess"); code != http.StatusUnauthorized {
			t.Fatalf("wrong passphrase at the portal: %d", code)
		}
	}
	e.clock.Add(30 * time.Second)
	step("provider locked at the portal", "dr", loginPass, e.code(secret, 0), locked)

	// Every FHIR login attempt above is in the hash-chained sign-in log, in order.
	evs, broken, err := e.si.Recent(1000)
	if err != nil || broken != 0 {
		t.Fatalf("sign-in log: broken at %d, %v", broken, err)
	}
	var got []string
	for i := len(evs) - 1; i >= 0; i-- {
		if ev := evs[i]; ev.Entry == "fhir" {
			got = append(got, ev.Event+" "+ev.Name+" "+ev.Reason)
		}
	}
	wantLog := []string{
		"signin.refused pat no second factor enrolled",
		"signin.refused pat no second factor enrolled",
		"signin.failed pat no second factor sent",
		"signin.failed pat second factor: that code is not right for this time: check your authenticator app's clock",
		"signin.success pat ",
		"signin.failed pat second factor: that code was already used: wait for the next one",
		"signin.refused reg registrar refused",
		"signin.failed reg wrong passphrase or unknown keystore",
		"signin.refused auditor role refused",
		"signin.refused dr-other provider not unlocked",
		"signin.success dr ",
		"signin.failed nobody wrong passphrase or unknown keystore",
		"signin.failed pat wrong passphrase or unknown keystore",
		"signin.failed pat wrong passphrase or unknown keystore",
		"signin.failed pat wrong passphrase or unknown keystore",
		"signin.failed pat wrong passphrase or unknown keystore",
		"signin.locked pat too many failed sign-ins",
		"signin.locked pat too many failed sign-ins",
		"signin.success pat ",
		"signin.locked dr too many failed sign-ins",
	}
	if strings.Join(got, "\n") != strings.Join(wantLog, "\n") {
		t.Errorf("FHIR logins in the sign-in log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLog, "\n"))
	}
	for _, ev := range evs {
		if ev.Entry == "fhir" && ev.Name == "pat" && (ev.ID != e.ids["pat"].ID || ev.Remote == "" || ev.Time.IsZero()) {
			t.Errorf("log line without identity, address or time: %+v", ev)
		}
	}
}
