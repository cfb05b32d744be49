package portal_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// web is a cookie-keeping HTTP client that does not follow redirects, so a test sees where
// the portal sends it.
type web struct {
	t    testing.TB
	c    *http.Client
	base string
	csrf string
}

func newWeb(t testing.TB, base string) *web {
	jar, _ := cookiejar.New(nil)
	return &web{t: t, base: base, c: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`data-csrf="([^"]*)"`)

func (w *web) do(req *http.Request) (*http.Response, string) {
	w.t.Helper()
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(b); m != nil && len(m[1]) > 0 {
		w.csrf = string(m[1])
	}
	return resp, string(b)
}

func (w *web) get(path string) (*http.Response, string) {
	w.t.Helper()
	req, _ := http.NewRequest("GET", w.base+path, nil)
	return w.do(req)
}

// post sends a form, with the page's CSRF token unless the form has its own csrf field.
func (w *web) post(path string, form url.Values) (*http.Response, string) {
	w.t.Helper()
	if _, ok := form["csrf"]; !ok && w.csrf != "" {
		form.Set("csrf", w.csrf)
	}
	req, _ := http.NewRequest("POST", w.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return w.do(req)
}

func wantRedirect(t testing.TB, resp *http.Response, prefix string) {
	t.Helper()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("status %d to %q, want a redirect to %s", resp.StatusCode, loc, prefix)
	}
}

func wantPage(t *testing.T, resp *http.Response, body string, status int, text string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(body, text) {
		t.Fatalf("status %d, want %d with %q; body:\n%.600s", resp.StatusCode, status, text, body)
	}
}

var secretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)

// enrol signs name in for the first time and enrols an authenticator app; it returns the
// TOTP secret.
func (w *web) enrol(e *env, name string) string {
	w.t.Helper()
	resp, _ := w.post("/portal/signin", url.Values{"name": {name}, "passphrase": {pass}})
	wantRedirect(w.t, resp, "/portal/enrol")
	_, body := w.get("/portal/enrol")
	m := secretRE.FindStringSubmatch(body)
	if m == nil {
		w.t.Fatalf("no TOTP secret on the enrolment page:\n%.600s", body)
	}
	resp, _ = w.post("/portal/enrol/totp", url.Values{"code": {code(w.t, m[1], e.clock.Now())}})
	wantRedirect(w.t, resp, "/portal/")
	w.get("/portal/security") // the signed-in session's CSRF token
	return m[1]
}

// TestSignInProtections tries to get past each sign-in protection without a browser:
// lockout after failed passphrases (kept across a restart), a second factor added or replaced with the passphrase
// alone, a form posted without its CSRF token, the pre-second-factor cookie reused, a
// half-finished sign-in after it expired, guessing codes in one session, and a code replayed
// after the portal restarted.
func TestSignInProtections(t *testing.T) {
	e := startEnv(t)
	base := strings.Replace(e.base, "localhost", "127.0.0.1", 1)

	// The embedded assets are served; the directory is not listed.
	st := newWeb(t, base)
	for path, ctype := range map[string]string{"/portal/static/portal.css": "text/css", "/portal/static/passkey.js": "javascript"} {
		resp, body := st.get(path)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), ctype) || len(body) < 500 {
			t.Errorf("%s: %d %s, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	if resp, _ := st.get("/portal/static/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("static directory listing: %d", resp.StatusCode)
	}

	// Five wrong passphrases lock the identity, even against the right one, until the window passes.
	w := newWeb(t, base)
	for range 5 {
		resp, body := w.post("/portal/signin", url.Values{"name": {"dr-alice"}, "passphrase": {"guess"}})
		wantPage(t, resp, body, http.StatusUnauthorized, "Wrong identity or passphrase")
	}
	resp, body := w.post("/portal/signin", url.Values{"name": {"dr-alice"}, "passphrase": {pass}})
	wantPage(t, resp, body, http.StatusTooManyRequests, "Too many failed sign-ins")
	// A restart does not lift the lock: the failures are on the node's disk.
	e.portal.Close()
	e.startPortal(t)
	resp, body = w.post("/portal/signin", url.Values{"name": {"dr-alice"}, "passphrase": {pass}})
	wantPage(t, resp, body, http.StatusTooManyRequests, "Too many failed sign-ins")
	e.clock.Add(15*time.Minute + time.Second)
	resp, _ = w.post("/portal/signin", url.Values{"name": {"dr-alice"}, "passphrase": {pass}})
	wantRedirect(t, resp, "/portal/enrol")

	// A lockout also stops a sign-in that was half finished before it.
	h := newWeb(t, base)
	resp, _ = h.post("/portal/signin", url.Values{"name": {"dr-bob"}, "passphrase": {pass}})
	wantRedirect(t, resp, "/portal/enrol")
	for range 5 {
		w.post("/portal/signin", url.Values{"name": {"dr-bob"}, "passphrase": {"guess"}})
	}
	resp, _ = h.get("/portal/enrol")
	wantRedirect(t, resp, "/portal/signin?m=Too+many")

	// The patient enrols an authenticator app.
	pw := newWeb(t, base)
	secret := pw.enrol(e, "pat")
	if _, body := pw.get("/portal/patient"); !strings.Contains(body, "<title>My records") {
		t.Fatalf("not signed in after enrolment:\n%.400s", body)
	}

	// Someone with only the passphrase cannot enrol another factor or reach a page.
	a := newWeb(t, base)
	resp, _ = a.post("/portal/signin", url.Values{"name": {"pat"}, "passphrase": {pass}})
	wantRedirect(t, resp, "/portal/second-factor")
	half := a.c.Jar.Cookies(mustURL(base + "/portal/"))
	resp, _ = a.get("/portal/enrol")
	wantRedirect(t, resp, "/portal/second-factor")
	a.get("/portal/second-factor")
	resp, _ = a.post("/portal/enrol/totp", url.Values{"code": {"123456"}})
	wantRedirect(t, resp, "/portal/enrol") // no secret being enrolled in this session
	resp, body = a.post("/portal/passkey/register/begin", url.Values{})
	wantPage(t, resp, body, http.StatusForbidden, "already has a second factor")
	for _, u := range []string{"/portal/patient", "/portal/security", "/portal/patient/consents"} {
		resp, _ = a.get(u)
		wantRedirect(t, resp, "/portal/second-factor")
	}

	// Completing the second factor issues a new cookie: the one from before stops working.
	e.clock.Add(30 * time.Second)
	resp, _ = a.post("/portal/second-factor/totp", url.Values{"code": {code(t, secret, e.clock.Now())}})
	wantRedirect(t, resp, "/portal/patient")
	stale := newWeb(t, base)
	stale.c.Jar.SetCookies(mustURL(base+"/portal/"), half)
	resp, _ = stale.get("/portal/patient")
	wantRedirect(t, resp, "/portal/signin")

	// A form without the session's CSRF token is refused.
	resp, body = a.post("/portal/patient/consents", url.Values{"csrf": {"forged"}, "grantee": {e.ids["dr-bob"].ID}, "category": {"general"}, "purpose": {"treatment"}})
	wantPage(t, resp, body, http.StatusForbidden, "did not come from this portal")
	resp, body = a.post("/portal/signout", url.Values{"csrf": {""}})
	wantPage(t, resp, body, http.StatusForbidden, "stale")

	// Three wrong codes end a half-finished sign-in.
	g := newWeb(t, base)
	g.post("/portal/signin", url.Values{"name": {"pat"}, "passphrase": {pass}})
	g.get("/portal/second-factor")
	for i := range 3 {
		resp, body = g.post("/portal/second-factor/totp", url.Values{"code": {wrong(t, secret, e.clock.Now())}})
		if i < 2 {
			wantPage(t, resp, body, http.StatusUnauthorized, "not right")
		}
	}
	wantRedirect(t, resp, "/portal/signin")
	resp, _ = g.get("/portal/second-factor")
	wantRedirect(t, resp, "/portal/signin")

	// A half-finished sign-in expires.
	x := newWeb(t, base)
	x.post("/portal/signin", url.Values{"name": {"pat"}, "passphrase": {pass}})
	x.get("/portal/second-factor")
	e.clock.Add(5*time.Minute + time.Second)
	resp, _ = x.post("/portal/second-factor/totp", url.Values{"code": {code(t, secret, e.clock.Now())}})
	wantRedirect(t, resp, "/portal/signin?m=Your+session+expired")

	// Use a code, restart the portal: sessions are gone, enrolment and the used code are not.
	e.clock.Add(30 * time.Second)
	used := code(t, secret, e.clock.Now())
	y := newWeb(t, base)
	y.post("/portal/signin", url.Values{"name": {"pat"}, "passphrase": {pass}})
	y.get("/portal/second-factor")
	resp, _ = y.post("/portal/second-factor/totp", url.Values{"code": {used}})
	wantRedirect(t, resp, "/portal/patient")
	e.portal.Close()
	e.startPortal(t)
	resp, _ = y.get("/portal/patient")
	wantRedirect(t, resp, "/portal/signin")
	resp, _ = y.post("/portal/signin", url.Values{"name": {"pat"}, "passphrase": {pass}})
	wantRedirect(t, resp, "/portal/second-factor")
	y.get("/portal/second-factor")
	resp, body = y.post("/portal/second-factor/totp", url.Values{"code": {used}})
	wantPage(t, resp, body, http.StatusUnauthorized, "already used")

	// Deactivating the identity on the ledger ends its open session at the next request.
	_, body = y.get("/portal/second-factor")
	e.clock.Add(30 * time.Second)
	y.get("/portal/second-factor")
	resp, _ = y.post("/portal/second-factor/totp", url.Values{"code": {code(t, secret, e.clock.Now())}})
	wantRedirect(t, resp, "/portal/patient")
	if _, err := e.cl.Send(t.Context(), e.reg, &identity.Deactivate{ID: e.ids["pat"].ID, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	resp, _ = y.get("/portal/patient")
	wantRedirect(t, resp, "/portal/signin?m=This+identity+has+been+deactivated")
	resp, body = y.post("/portal/signin", url.Values{"name": {"pat"}, "passphrase": {pass}})
	wantPage(t, resp, body, http.StatusForbidden, "deactivated")

	// The sign-in log on disk holds the failures, for the auditor.
	lg, err := os.ReadFile(filepath.Join(e.home, "portal", "signin.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(lg), `"event":"signin.failed"`); n < 9 {
		t.Errorf("sign-in log holds %d failures, want at least 9", n)
	}
	if !strings.Contains(string(lg), `"event":"signin.locked"`) {
		t.Error("sign-in log does not show the lockout")
	}
}

// TestUploadAndDownload has the patient's registering provider upload a document and write a
// note; the patient downloads the document as an attachment (never rendered in the portal's
// origin) with the bytes uploaded, and sees the note.
func TestUploadAndDownload(t *testing.T) {
	e := startEnv(t)
	base := strings.Replace(e.base, "localhost", "127.0.0.1", 1)
	pat := e.ids["pat"].ID
	dr := newWeb(t, base)
	dr.enrol(e, "dr-alice")
	doc := []byte("<html><script>alert(1)</script>discharge letter</html>")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", dr.csrf)
	mw.WriteField("category", "general")
	fw, _ := mw.CreatePart(map[string][]string{"Content-Disposition": {`form-data; name="file"; filename="letter.html"`}, "Content-Type": {"text/html"}})
	fw.Write(doc)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/portal/provider/patients/"+pat+"/documents", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, body := dr.do(req)
	wantRedirect(t, resp, "/portal/provider/patients/"+pat)
	resp, body = dr.post("/portal/provider/patients/"+pat+"/notes", url.Values{"note": {"Blood pressure reviewed.\nNo change."}, "category": {"general"}})
	wantRedirect(t, resp, "/portal/provider/patients/"+pat)
	_ = body

	p := newWeb(t, base)
	e.clock.Add(30 * time.Second)
	p.enrol(e, "pat")
	_, page := p.get("/portal/patient")
	if !strings.Contains(page, "Blood pressure reviewed.\nNo change.") || !strings.Contains(page, "by Dr Alice") {
		t.Fatalf("the note is not on the patient's timeline:\n%s", page)
	}
	m := regexp.MustCompile(`href="/portal/patient/records/(r-[0-9a-f]+)\?purpose=treatment" class="download"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no download link for the document")
	}
	resp, body = p.get("/portal/patient/records/" + m[1])
	if resp.StatusCode != 200 || body != string(doc) {
		t.Fatalf("download: %d %q", resp.StatusCode, body)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("Content-Disposition %q: an uploaded page must not render in the portal", cd)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
