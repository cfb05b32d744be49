package fhir

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// TestGrantScopes: what a scope request grants to a patient and to a provider, one line a
// case: the request, then the scope granted to each ("" for no grant).
func TestGrantScopes(t *testing.T) {
	pat := &identity.Identity{ID: "p1", Role: identity.Patient}
	dr := &identity.Identity{ID: "d1", Role: identity.Provider}
	cases := []struct{ request, patient, provider string }{
		{"launch/patient patient/Observation.rs", "launch/patient patient/Observation.rs", ""},
		{"patient/Observation.read", "patient/Observation.read", ""},
		{"patient/*.*", "patient/*.read", ""},
		{"patient/Observation.cruds", "patient/Observation.rs", ""},
		{"patient/Observation.r patient/Observation.s", "patient/Observation.rs", ""},
		{"patient/Observation.cud", "", ""},
		{"patient/Observation.sr", "", ""}, // v2 letters go in order
		{"patient/Observation.write", "", ""},
		{"patient/Observation.rs?category=laboratory", "", ""},
		{"patient/Nonsense.read", "", ""},
		{"system/*.read", "", ""},
		{"user/Observation.read", "user/Observation.read", "user/Observation.read"},
		{"user/*.rs patient/*.read launch/patient openid fhirUser offline_access", "launch/patient user/*.rs patient/*.read", "user/*.rs"},
		{"launch/patient openid", "", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		for _, w := range []struct {
			who  *identity.Identity
			want string
		}{{pat, c.patient}, {dr, c.provider}} {
			g := grantScopes(c.request, w.who, "app")
			got := ""
			if g != nil {
				got = g.scope()
			}
			if got != w.want {
				t.Errorf("%q to a %s: granted %q, want %q", c.request, w.who.Role, got, w.want)
			}
			if g != nil && (g.patient != "") != (w.who.Role == identity.Patient) {
				t.Errorf("%q to a %s: launch patient %q", c.request, w.who.Role, g.patient)
			}
		}
	}
}

// TestScopeDecide: which requests a grant admits, and whether the launch patient's
// compartment then applies, one line a case.
func TestScopeDecide(t *testing.T) {
	pat := &identity.Identity{ID: "p1", Role: identity.Patient}
	cases := []struct {
		scope, method, typ, id, op, query string
		allowed, compartment              bool
		why                               string
	}{
		{"patient/Observation.rs", "GET", "Observation", "", "", "", true, true, ""},
		{"patient/Observation.rs", "HEAD", "Observation", "o1", "", "", true, true, ""},
		{"patient/Observation.rs", "GET", "Condition", "", "", "", false, false, "do not allow searching Condition"},
		{"patient/Observation.r", "GET", "Observation", "", "", "", false, false, "do not allow searching"},
		{"patient/Observation.s", "GET", "Observation", "o1", "", "", false, false, "do not allow reading"},
		{"patient/Observation.rs", "POST", "Observation", "", "", "", false, false, "grant reads only"},
		{"patient/*.read", "PUT", "Observation", "o1", "", "", false, false, "grant reads only"},
		{"patient/*.read", "GET", "", "", "", "", false, false, "system-level"},
		{"patient/*.read", "GET", "Consent", "", "", "", false, false, "outside SMART app scopes"},
		{"patient/Observation.rs", "GET", "Observation", "", "", "_include=Observation:encounter", false, false, "_include across types"},
		{"patient/*.r", "GET", "Observation", "", "", "_revinclude=Provenance:target", false, false, "_include across types"},
		{"patient/*.rs", "GET", "Observation", "", "", "_include:iterate=Observation:encounter", true, true, ""},
		{"patient/Patient.read", "GET", "Patient", "p1", "$everything", "", false, false, "operation"},
		{"patient/*.read", "GET", "Patient", "p1", "$everything", "", true, true, ""},
		{"user/Observation.read patient/Observation.read", "GET", "Observation", "", "", "", true, false, ""},
		{"user/Observation.read patient/*.read", "GET", "Condition", "", "", "", true, true, ""},
	}
	for _, c := range cases {
		g := grantScopes(c.scope, pat, "app")
		q, _ := url.ParseQuery(c.query)
		d := g.decide(scopeAccess{method: c.method, typ: c.typ, id: c.id, op: c.op, query: q})
		if d.allowed != c.allowed || d.compartment != c.compartment || !strings.Contains(d.why, c.why) {
			t.Errorf("%s: %s %s/%s %s ?%s: %+v, want allowed %v, compartment %v, %q", c.scope, c.method, c.typ, c.id, c.op, c.query, d, c.allowed, c.compartment, c.why)
		}
	}
	var zero scopeDecision
	if zero.allowed {
		t.Fatal("the zero decision allows")
	}
}

// TestParseApps: the register refuses what would make a redirect unsafe or ambiguous.
func TestParseApps(t *testing.T) {
	bad := []struct{ file, text string }{
		{`{"apps": [{"client_id": "a", "name": "A", "redirect_uris": ["http://app.example/cb"]}]}`, "must be https"},
		{`{"apps": [{"client_id": "a", "name": "A", "redirect_uris": ["https://app.example/cb#x"]}]}`, "fragment"},
		{`{"apps": [{"client_id": "a", "name": "A", "redirect_uris": ["/cb"]}]}`, "absolute"},
		{`{"apps": [{"client_id": "a", "name": "A", "redirect_uris": ["https://u:p@app.example/cb"]}]}`, "user information"},
		{`{"apps": [{"client_id": "a", "name": "A", "redirect_uris": []}]}`, "at least one redirect_uri"},
		{`{"apps": [{"client_id": "a", "redirect_uris": ["https://app.example/cb"]}]}`, "name is required"},
		{`{"apps": [{"client_id": "a b", "name": "A", "redirect_uris": ["https://app.example/cb"]}]}`, "client_id must be"},
		{`{"apps": [{"client_id": "a", "name": "A", "redirect_uris": ["https://x.example/cb"]}, {"client_id": "a", "name": "B", "redirect_uris": ["https://y.example/cb"]}]}`, "listed twice"},
		{`{"apps": [{"client_id": "a", "name": "A", "redirect_uris": ["https://x.example/cb"], "secret": "s"}]}`, "unknown field"},
	}
	for _, c := range bad {
		if _, err := ParseApps([]byte(c.file)); err == nil || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v, want %q", c.file, err, c.text)
		}
	}
	a, err := ParseApps([]byte(`{"apps": [{"client_id": "a", "name": "A", "redirect_uris": ["https://app.example/cb", "http://127.0.0.1:8000/cb", "http://localhost/cb"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	app := a.Get("a")
	if app == nil || !app.redirects("https://app.example/cb") || app.redirects("https://app.example/cb/") || app.redirects("https://app.example/cb?x=1") || a.Get("b") != nil {
		t.Fatal("redirect URIs are not compared exactly")
	}
	if !a.origin("https://app.example") || a.origin("https://evil.example") || a.origin("") || (*Apps)(nil).origin("https://app.example") {
		t.Fatal("CORS origins are not the registered ones")
	}
}
