package fhir

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ehrchain/ehrchain/internal/browsertest"
)

// smartAppDir is a patient-facing SMART app: two pages and the stock SMART JavaScript
// client from npm (fhirclient), pinned by its package-lock.json.
const smartAppDir = "testdata/smart-app"

// fhirClientJS is the browser build of fhirclient; npm ci installs it when missing, and
// the test fails (it does not skip) when it cannot.
func fhirClientJS(t *testing.T) string {
	t.Helper()
	js := filepath.Join(smartAppDir, "node_modules", "fhirclient", "build", "fhir-client.js")
	if _, err := os.Stat(js); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			t.Fatal("npm is required for the SMART app test (.ci/run installs its packages)")
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = smartAppDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", smartAppDir, err, out)
		}
	}
	return js
}

// TestSMARTStandaloneLaunchInBrowser: in Chromium, a SMART app on its own origin, built
// with the stock fhirclient, launches standalone against the gateway: fhirclient discovers
// the endpoints, sends the browser to authorize with PKCE, the patient signs in with the
// passphrase and the code of their authenticator app, sees the scopes and approves; the
// app exchanges the code, reads the patient and their Observations (across origins, by
// CORS for the registered app), and is refused a Condition its scopes do not cover.
func TestSMARTStandaloneLaunchInBrowser(t *testing.T) {
	js := fhirClientJS(t)
	mux := http.NewServeMux()
	for _, name := range []string{"launch.html", "launch.js", "app.html", "app.js"} {
		mux.HandleFunc("GET /app/"+name, func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, filepath.Join(smartAppDir, name)) })
	}
	mux.HandleFunc("GET /app/fhir-client.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, js) })
	app := httptest.NewServer(mux)
	defer app.Close()
	e := startSMARTEnv(t, app.URL+"/app/app.html")

	// The refused Condition is a 403 the browser logs as a network error; a CORS or script
	// failure leaves no result and shows in #error or as an exception.
	b := browsertest.Start(t, browsertest.Options{IgnoreNetworkLog: true, ConsoleErrors: true})
	base := e.fhir.URL + Prefix
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b.Ctx, steps...); err != nil {
			t.Fatalf("%s: %v (problems %v)", what, err, b.Problems())
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return v
	}
	run("launch", chromedp.Navigate(app.URL+"/app/launch.html?iss="+url.QueryEscape(base)), chromedp.WaitVisible(chromedp.CSS("#keystore")))
	run("sign in",
		chromedp.SendKeys(chromedp.CSS("#keystore"), "pat"),
		chromedp.SendKeys(chromedp.CSS("#passphrase"), loginPass),
		chromedp.SendKeys(chromedp.CSS("#otp"), e.otp("pat")),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#approve")))
	scopes, who := text("#scopes"), text("#who")
	// Approved, the browser goes back to the app's page (#result), which writes its result
	// (or its error) when it is done: wait for the page, then for either.
	run("approve", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitReady(chromedp.CSS("#result")))
	result, err := chromedp.Run(b.Ctx, chromedp.Poll[string](`document.getElementById("result").textContent ||
		(document.getElementById("error").textContent ? "error: " + document.getElementById("error").textContent : "")`))
	if err != nil {
		t.Fatalf("waiting for the app: %v (problems %v)", err, b.Problems())
	}
	if !strings.Contains(who, e.pat) || !strings.Contains(scopes, "patient/Observation.rs: read and search your Observation records") ||
		!strings.Contains(scopes, "launch/patient") || !strings.Contains(scopes, "patient/Patient.read") {
		t.Fatalf("approval page: signed in as %q, scopes %q", who, scopes)
	}
	var got struct {
		PatientID, Scope string
		Patient          struct{ ID, Family string }
		Observations     []struct {
			ID    string
			Value json.Number
		}
		Condition struct {
			Status  int
			Message string
		}
	}
	if err := json.Unmarshal([]byte(result), &got); err != nil {
		t.Fatalf("the app wrote %q (%v); problems: %v", result, err, b.Problems())
	}
	if got.PatientID != e.pat || got.Patient.ID != e.pat || got.Patient.Family != "Pat" || got.Scope != "launch/patient patient/Patient.read patient/Observation.rs" {
		t.Fatalf("the app's patient and scope: %+v", got)
	}
	var obs []string
	for _, o := range got.Observations {
		obs = append(obs, "Observation/"+o.ID+"="+o.Value.String())
	}
	slices.Sort(obs)
	want := []string{e.recs["patObs"] + "=72", e.recs["drObs"] + "=64"}
	slices.Sort(want)
	if !slices.Equal(obs, want) {
		t.Fatalf("the app read Observations %v, want the patient's own %v (not the other patient's %s)", obs, want, e.recs["otherObs"])
	}
	if got.Condition.Status != http.StatusForbidden || !strings.Contains(got.Condition.Message, "do not allow searching Condition") {
		t.Fatalf("the app's Condition search: %+v", got.Condition)
	}
	for _, p := range b.Problems() {
		if !strings.Contains(p, "403") { // the refused Condition, logged by the console too
			t.Errorf("browser problem: %s", p)
		}
	}
}
