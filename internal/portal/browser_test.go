package portal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/ehrchain/ehrchain/internal/browsertest"
)

// browser drives one tab of headless Chromium against the portal and collects what the pages
// report as broken: uncaught exceptions and blocked content (CSP violations are log errors).
type browser struct {
	*browsertest.Browser
	t    *testing.T
	ctx  context.Context
	base string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	// Network errors are the refused pages this test asks for on purpose (403s).
	bb := browsertest.Start(t, browsertest.Options{Timeout: 4 * time.Minute, IgnoreNetworkLog: true,
		Extra: []chromedp.ExecAllocatorOption{chromedp.WindowSize(1200, 900)}})
	b := &browser{Browser: bb, t: t, ctx: bb.Ctx, base: base}
	bctx := bb.Ctx
	// A platform authenticator with user verification: what a phone's or laptop's fingerprint
	// or face unlock presents to the browser.
	if _, err := chromedp.Call(bctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
		Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
		IsUserVerified: true, AutomaticPresenceSimulation: true,
	}}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

func eval[T any](b *browser, js string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// act runs actions that make the page navigate (a form submit, a click), and waits until a
// new document has loaded.
func (b *browser) act(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	eval[bool](b, `window.__stale = true`)
	b.do(actions...)
	b.waitNewPage()
}

func (b *browser) waitNewPage() {
	b.t.Helper()
	for i := 0; ; i++ {
		fresh, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!window.__stale && document.readyState === 'complete'`))
		if err == nil && fresh {
			return
		}
		if i > 1200 { // 60 s: a page that never comes is a failure, not a slow pass
			b.t.Fatalf("no new page loaded after the action (still at %s)", b.path())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.act(chromedp.Navigate(b.base + path))
}

func (b *browser) path() string {
	p, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname`))
	return p
}

func (b *browser) wantPath(want string) {
	b.t.Helper()
	if got := b.path(); got != want {
		b.t.Fatalf("at %s, want %s; page says: %s", got, want, b.text("main"))
	}
}

// text is the text of the first element matching sel, or "" if there is none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel))
}

func (b *browser) wantText(sel, want string) {
	b.t.Helper()
	if got := b.text(sel); !strings.Contains(got, want) {
		b.t.Fatalf("%s on %s: %q does not contain %q", sel, b.path(), got, want)
	}
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

func (b *browser) wantCount(sel string, want int) {
	b.t.Helper()
	if got := b.count(sel); got != want {
		b.t.Fatalf("%d elements %s on %s, want %d", got, sel, b.path(), want)
	}
}

func (b *browser) set(sel, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), value))
}

func click(sel string) chromedp.Action[chromedp.Void]  { return chromedp.Click(chromedp.CSS(sel)) }
func submit(sel string) chromedp.Action[chromedp.Void] { return chromedp.Submit(chromedp.CSS(sel)) }

func (b *browser) signIn(name, passphrase string) {
	b.t.Helper()
	b.open("/portal/signin")
	b.set("#name", name)
	b.set("#passphrase", passphrase)
	b.act(click("#signin"))
}

func (b *browser) signOut() {
	b.t.Helper()
	b.act(click("#signout"))
	b.wantPath("/portal/signin")
	b.wantText("#message", "signed out")
}

func (b *browser) enterCode(form, code string) {
	b.t.Helper()
	b.set(form+" #code", code)
	b.act(submit(form + " #code"))
}

// shot saves a PNG screenshot of the page when EHRCHAIN_SCREENSHOTS names a directory
// (EHRCHAIN_SCREENSHOTS=$PWD/docs/screenshots go test -run Story ./internal/portal).
func (b *browser) shot(name string) {
	b.t.Helper()
	dir := os.Getenv("EHRCHAIN_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot()) // the viewport: what a person sees first
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) noProblems() {
	b.t.Helper()
	if problems := b.Problems(); len(problems) > 0 {
		b.t.Fatalf("the pages reported problems:\n%s", strings.Join(problems, "\n"))
	}
}

func code(t testing.TB, secret string, now time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrong is a six-digit code that is not valid for secret at now or a step around it.
func wrong(t testing.TB, secret string, now time.Time) string {
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		valid[code(t, secret, now.Add(d))] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", 111111*(i%9+1)+i/9)
		if !valid[c] {
			return c
		}
	}
}

// TestPortalConsentStory plays the consent story through the portal in headless Chromium
// against a real node: the patient enrols an authenticator app and signs in, sees their
// Synthea records by encounter with charts, grants Dr Bob; Dr Bob enrols a passkey and reads
// the record; the patient revokes and Dr Bob no longer sees it; the auditor sees all of it.
// Along the way it tries a wrong passphrase, wrong and replayed TOTP codes, another role's
// pages, a write without permission, a revocation with a wrong passphrase, and an expired
// session, and checks each is refused.
func TestPortalConsentStory(t *testing.T) {
	e := startEnv(t)
	const encounters = 4
	records := e.synthea(t, encounters)
	observations := records - encounters
	b := newBrowser(t, e.base)
	pat, bob := e.ids["pat"], e.ids["dr-bob"]

	// First factor: the keystore's passphrase. Wrong, or an unknown name: refused alike.
	b.open("/portal/")
	b.wantPath("/portal/signin")
	b.signIn("pat", "not the passphrase")
	b.wantPath("/portal/signin")
	b.wantText("#error", "Wrong identity or passphrase")
	b.signIn("nobody", pass)
	b.wantText("#error", "Wrong identity or passphrase")

	// The patient's first sign-in enrols an authenticator app from a QR code.
	b.signIn("pat", pass)
	b.wantPath("/portal/enrol")
	qr := eval[string](b, `document.querySelector('#qr').src`)
	if !strings.HasPrefix(qr, "data:image/png;base64,") || len(qr) < 500 {
		t.Fatalf("enrolment QR code is not an inline PNG: %.60q", qr)
	}
	secret := b.text("#totp-secret")
	b.enterCode("#enrol-form", wrong(t, secret, e.clock.Now()))
	b.wantText("#error", "not right")
	b.enterCode("#enrol-form", code(t, secret, e.clock.Now()))
	b.wantPath("/portal/patient")
	b.wantText("#whoami", "pat")

	// The timeline groups the records by encounter; the charts plot the Observations.
	b.wantText("#record-count", fmt.Sprintf("%d records", records))
	b.wantCount("section.encounter", encounters)
	b.wantCount("li.entry[data-type=Observation]", observations)
	b.wantCount("#chart-55284-4 polyline.series", 2) // systolic and diastolic
	b.wantCount("#chart-55284-4 circle.pt", 2*encounters)
	b.wantCount("#chart-39156-5 circle.pt", encounters) // BMI
	b.wantCount("#chart-2339-0 circle.pt", encounters)  // glucose
	b.shot("patient-records")
	// On a phone: nothing wider than the screen.
	if _, err := chromedp.Call(b.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
		t.Error("the records page is wider than a phone screen")
	}
	b.shot("patient-records-phone")
	if _, err := chromedp.Call(b.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}

	// Another role's pages are refused, whatever the URL.
	for _, u := range []string{"/portal/auditor", "/portal/provider", "/portal/provider/patients/" + pat.ID, "/portal/auditor/report?kind=compliance&format=json"} {
		b.open(u)
		b.wantText("#error", "This page is for")
	}

	// Grant Dr Bob: search, choose, categories and purpose, 30 days.
	b.open("/portal/patient/consents")
	b.set("#q", "bob")
	b.act(click("#search"))
	b.do(click(fmt.Sprintf(`input[name=grantee][value="%s"]`, bob.ID)))
	b.shot("patient-grant")
	b.act(click("#grant"))
	b.wantText("#flash", "Granted")
	b.wantCount(`tr.grant[data-status=active]`, 1)
	b.shot("patient-consents")
	b.signOut()
	b.open("/portal/patient") // the signed-out session's cookie is gone and its session ended
	b.wantPath("/portal/signin")

	// Dr Bob enrols a passkey on this device and reads the record.
	b.signIn("dr-bob", pass)
	b.wantPath("/portal/enrol")
	b.act(click("#passkey-register"))
	b.wantPath("/portal/provider")
	b.wantCount(fmt.Sprintf(`tr.patient[data-patient="%s"]`, pat.ID), 1)
	b.shot("provider-patients")
	b.open("/portal/provider/patients/" + pat.ID)
	b.wantCount("#no-access", 0)
	b.wantCount("li.entry[data-type=Observation]", observations)
	b.wantCount("li.entry .error", 0)
	b.wantCount("#chart-55284-4 circle.pt", 2*encounters)
	b.shot("provider-patient")
	// Dr Bob may read but not write: he has no write grant and did not register the patient.
	b.set("#note", "Seen in clinic.")
	b.act(click("#save-note"))
	b.wantText("#error", "records/1")
	b.open("/portal/patient")
	b.wantText("#error", "This page is for patients")
	b.signOut()

	// The patient again: a wrong code, then the right one; then the same code replayed.
	e.clock.Add(31 * time.Second)
	b.signIn("pat", pass)
	b.wantPath("/portal/second-factor")
	b.enterCode("#totp-form", wrong(t, secret, e.clock.Now()))
	b.wantText("#error", "not right")
	used := code(t, secret, e.clock.Now())
	b.enterCode("#totp-form", used)
	b.wantPath("/portal/patient")
	b.signOut()
	b.signIn("pat", pass)
	b.enterCode("#totp-form", used)
	b.wantText("#error", "already used")
	e.clock.Add(31 * time.Second)
	b.enterCode("#totp-form", code(t, secret, e.clock.Now()))
	b.wantPath("/portal/patient")

	// Who saw my data: Dr Bob's list and reads, from the ledger.
	b.open("/portal/patient/access")
	if n := b.count(fmt.Sprintf(`tr.access[data-actor="%s"][data-outcome=success]`, bob.ID)); n < observations {
		t.Fatalf("access page shows %d of Dr Bob's reads, want at least %d", n, observations)
	}
	b.shot("patient-access")

	// Revoke: the passphrase is asked again (the keystore gains the rotated key).
	b.open("/portal/patient/consents")
	b.set(".revoke-form input[name=passphrase]", "wrong")
	b.act(submit(".revoke-form input[name=passphrase]"))
	b.wantText("#error", "Wrong passphrase")
	b.wantCount(`tr.grant[data-status=active]`, 1)
	b.set(".revoke-form input[name=passphrase]", pass)
	b.act(submit(".revoke-form input[name=passphrase]"))
	b.wantText("#flash", "Revoked")
	b.wantCount(`tr.grant[data-status=revoked]`, 1)
	// The patient still opens every record, including with the rotated key saved.
	b.open("/portal/patient")
	b.wantCount("li.entry .error", 0)
	b.signOut()

	// Dr Bob signs in with his passkey: the patient is gone from his list, and the ledger
	// refuses the record when he asks for it by URL.
	b.signIn("dr-bob", pass)
	b.wantPath("/portal/second-factor")
	// A real assertion from the authenticator with one bit of its signature flipped is
	// refused; so is a second answer to the challenge it used.
	forged := eval[string](b, forgedAssertionJS, chromedp.EvalAwaitPromise)
	if !strings.HasPrefix(forged, "401 The passkey was not accepted") || !strings.Contains(forged, "| 400 No passkey sign-in in progress") {
		t.Fatalf("tampered passkey assertion: %s", forged)
	}
	b.act(click("#passkey-login"))
	b.wantPath("/portal/provider")
	b.wantCount(fmt.Sprintf(`tr.patient[data-patient="%s"]`, pat.ID), 0)
	b.open("/portal/provider/patients/" + pat.ID)
	b.wantText("#no-access", "No access")

	// An idle session expires: the next page asks for a sign-in again.
	e.clock.Add(idle + time.Second)
	b.open("/portal/provider")
	b.wantPath("/portal/signin")
	b.wantText("#message", "expired")

	// The auditor sees all of it.
	b.signIn("auditor", pass)
	b.wantPath("/portal/enrol")
	asecret := b.text("#totp-secret")
	b.enterCode("#enrol-form", code(t, asecret, e.clock.Now()))
	b.wantPath("/portal/auditor")
	if b.count("#chart-activity rect.bar") == 0 || b.count("#chart-actions rect.bar") == 0 {
		t.Error("dashboard charts have no bars")
	}
	b.wantCount(fmt.Sprintf(`tr.event[data-actor="%s"][data-outcome=denied]`, bob.ID), 1)
	if b.count(`details.anomaly[data-rule=denied-access] tr.event`) == 0 {
		t.Error("no 'denied' anomaly with its events for Dr Bob's refused access")
	}
	if n := b.count(`tr.signin[data-event="signin.failed"][data-name=pat]`); n < 4 { // passphrase, 2 wrong codes, a replay
		t.Errorf("%d failed sign-ins of pat shown, want at least 4", n)
	}
	for _, ev := range []string{"signin.failed", "session.expired", "access.refused", "factor.enrolled", "signout"} {
		if b.count(fmt.Sprintf(`tr.signin[data-event="%s"]`, ev)) == 0 {
			t.Errorf("sign-in log shows no %s", ev)
		}
	}
	b.wantCount("#log-intact", 1)
	for _, u := range []string{"/portal/patient", "/portal/provider", "/portal/patient/consents"} {
		b.open(u)
		b.wantText("#error", "This page is for")
	}
	b.open("/portal/auditor")
	b.shot("auditor-dashboard")
	rep := eval[string](b, `fetch('/portal/auditor/report?kind=compliance&format=json').then(r => r.json()).then(j =>
		j.grants_issued.length + ' ' + j.grants_revoked.length + ' ' + j.anomalies.length)`, chromedp.EvalAwaitPromise)
	if f := strings.Fields(rep); len(f) != 3 || f[0] != "1" || f[1] != "1" || f[2] == "0" {
		t.Errorf("compliance report: grants issued, revoked, anomalies = %s", rep)
	}
	rep = eval[string](b, fmt.Sprintf(`fetch('/portal/auditor/report?kind=disclosures&format=fhir&patient=%s').then(r => r.json()).then(j =>
		j.resourceType + ' ' + j.entry.filter(x => JSON.stringify(x).includes(%q)).length)`, pat.ID, bob.ID), chromedp.EvalAwaitPromise)
	if f := strings.Fields(rep); len(f) != 2 || f[0] != "Bundle" || f[1] == "0" {
		t.Errorf("FHIR accounting of disclosures: %s", rep)
	}
	b.noProblems()
}

// forgedAssertionJS gets a genuine assertion from the virtual authenticator, flips a bit of
// its signature and submits it, then submits it again; it returns both answers.
const forgedAssertionJS = `(async () => {
	const csrf = document.body.dataset.csrf;
	const post = (u, b) => fetch(u, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(b || {})});
	const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)).buffer;
	const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
	const opts = (await (await post("/portal/passkey/login/begin")).json()).publicKey;
	opts.challenge = dec(opts.challenge);
	opts.allowCredentials.forEach((c) => { c.id = dec(c.id); });
	const cred = await navigator.credentials.get({publicKey: opts});
	const sig = new Uint8Array(cred.response.signature);
	sig[sig.length - 1] ^= 1;
	const body = {id: cred.id, rawId: enc(cred.rawId), type: cred.type, clientExtensionResults: {},
		response: {clientDataJSON: enc(cred.response.clientDataJSON), authenticatorData: enc(cred.response.authenticatorData),
			signature: enc(sig), userHandle: cred.response.userHandle ? enc(cred.response.userHandle) : null}};
	const r1 = await post("/portal/passkey/login/finish", body);
	const r2 = await post("/portal/passkey/login/finish", body);
	return r1.status + " " + (await r1.json()).error + " | " + r2.status + " " + (await r2.json()).error;
})()`
