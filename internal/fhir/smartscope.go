package fhir

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
)

// SMART scopes (App Launch 2.0, "Scopes and Launch Context") narrow what an app's token may
// do; they never widen it. Every read still goes to the ledger, where consent decides and
// the access is audited. A SMART token reads only: v1 read (or *, granted as read) and v2
// r and s; writes, granular query scopes and system/ scopes are not granted. patient/
// scopes are granted to a patient only, whose own chart is the compartment; a provider
// asks for user/ scopes (there is no patient picker). Consent, AuditEvent and
// ResearchSubject are outside SMART scopes: the wildcard covers the clinical types. The
// emergency purpose (break-glass) is refused to SMART tokens.

// scopeRule is one granted resource scope.
type scopeRule struct {
	patient      bool   // patient/ (the compartment of the launch patient) or user/
	typ          string // a resource type or *
	read, search bool
	v2           bool
}

func (s scopeRule) String() string {
	ctx := "user/"
	if s.patient {
		ctx = "patient/"
	}
	if !s.v2 {
		return ctx + s.typ + ".read"
	}
	p := ""
	if s.read {
		p += "r"
	}
	if s.search {
		p += "s"
	}
	return ctx + s.typ + "." + p
}

// smartGrant is what a SMART token allows: its rules and its patient context.
type smartGrant struct {
	rules   []scopeRule
	patient string // the launch patient (patient/ rules): the signed-in patient
	launch  bool   // launch/patient granted: the token response names the patient
	client  string
}

// scope is the granted scope string, in request order.
func (g *smartGrant) scope() string {
	var out []string
	if g.launch {
		out = append(out, "launch/patient")
	}
	for _, r := range g.rules {
		out = append(out, r.String())
	}
	return strings.Join(out, " ")
}

// parseRule reads a v1 (ctx/Type.read|write|*) or v2 (ctx/Type.cruds) resource scope and
// keeps its read part; ok is false for anything this gateway does not grant.
func parseRule(s string) (scopeRule, bool) {
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok || (ctx != "patient" && ctx != "user") || strings.Contains(rest, "?") {
		return scopeRule{}, false
	}
	typ, perm, ok := strings.Cut(rest, ".")
	if !ok || (typ != "*" && !slices.Contains(Supported, typ)) {
		return scopeRule{}, false
	}
	r := scopeRule{patient: ctx == "patient", typ: typ}
	switch perm {
	case "read", "*":
		r.read, r.search = true, true
		return r, true
	case "write":
		return scopeRule{}, false
	}
	// v2: a non-empty subsequence of c r u d s, in that order.
	rest = perm
	for _, c := range "cruds" {
		if strings.HasPrefix(rest, string(c)) {
			rest = rest[1:]
			r.read = r.read || c == 'r'
			r.search = r.search || c == 's'
		}
	}
	if perm == "" || rest != "" || !(r.read || r.search) {
		return scopeRule{}, false
	}
	r.v2 = true
	return r, true
}

// requestedRules reports whether a scope request names at least one resource scope this
// gateway could grant to someone; the authorization step asks nobody to sign in for less.
func requestedRules(scope string) bool {
	for _, s := range strings.Fields(scope) {
		if _, ok := parseRule(s); ok {
			return true
		}
	}
	return false
}

// grantScopes is the grant for a person's approval of a scope request: patient/ rules and
// launch/patient for a patient only; user/ rules for patients and providers. Scopes not
// granted are left out (the token's scope says what was granted). A grant without a
// resource rule is nil.
func grantScopes(scope string, who *identity.Identity, client string) *smartGrant {
	g := &smartGrant{client: client}
	isPatient := who.Role == identity.Patient
	for _, s := range strings.Fields(scope) {
		if s == "launch/patient" {
			g.launch = isPatient
			continue
		}
		r, ok := parseRule(s)
		if !ok || (r.patient && !isPatient) {
			continue
		}
		if i := slices.IndexFunc(g.rules, func(x scopeRule) bool { return x.patient == r.patient && x.typ == r.typ }); i >= 0 {
			g.rules[i].read, g.rules[i].search = g.rules[i].read || r.read, g.rules[i].search || r.search
			continue
		}
		g.rules = append(g.rules, r)
	}
	if len(g.rules) == 0 {
		return nil
	}
	if isPatient {
		g.patient = who.ID
	}
	return g
}

// scopeAccess is what one request needs of a grant.
type scopeAccess struct {
	method, typ, id, op string
	query               url.Values
}

// scopeDecision is how a grant admits a request: whether only patient/ rules admit it (so
// the request is held to the launch patient's compartment). The zero value denies.
type scopeDecision struct {
	allowed     bool
	compartment bool
	why         string // a refusal's reason
}

// decide is the pure scope check: which rule, if any, admits the request. A user/ rule is
// preferred to a patient/ one, since consent bounds it and it needs no compartment.
func (g *smartGrant) decide(a scopeAccess) scopeDecision {
	deny := func(why string) scopeDecision { return scopeDecision{why: why} }
	if a.method != http.MethodGet && a.method != http.MethodHead {
		return deny("this token's scopes (" + g.scope() + ") grant reads only")
	}
	if a.typ == "" {
		return deny("system-level interactions are outside SMART app scopes: read a resource type")
	}
	if !slices.Contains(Supported, a.typ) {
		return deny(a.typ + " is outside SMART app scopes (they cover the clinical resource types)")
	}
	search := a.id == ""
	wild := a.op != "" // an operation such as $everything returns every type
	for _, k := range []string{"_include", "_revinclude", "_include:iterate", "_revinclude:iterate"} {
		if len(a.query[k]) > 0 {
			wild = true // included resources are of other types
		}
	}
	best := scopeDecision{why: "this token's scopes (" + g.scope() + ") do not allow " + verb(search, wild) + " " + a.typ}
	for _, r := range g.rules {
		if (r.typ != a.typ && r.typ != "*") || (wild && (r.typ != "*" || !r.read || !r.search)) {
			continue
		}
		if (search && !r.search) || (!search && !r.read) {
			continue
		}
		if !r.patient {
			return scopeDecision{allowed: true}
		}
		best = scopeDecision{allowed: true, compartment: true}
	}
	return best
}

func verb(search, wild bool) string {
	switch {
	case wild:
		return "an operation or _include across types (it needs */*.read or *.rs) on"
	case search:
		return "searching"
	}
	return "reading"
}

// allowScope holds a SMART token's request to its scopes and, for patient/ scopes, to the
// launch patient's compartment. A search without a patient gets the launch patient; a read
// must be of a record of the launch patient. It runs before any ledger read.
func (gw *Gateway) allowScope(r *http.Request, g *smartGrant) error {
	if r.Header.Get("X-Purpose-Of-Use") == consent.Emergency {
		// Break-glass widens access beyond consent; an app's token only ever narrows it.
		return fail(http.StatusForbidden, "forbidden", "the emergency purpose (break-glass) is not open to SMART app tokens: use the portal or a person login")
	}
	a := scopeAccess{method: r.Method, typ: r.PathValue("type"), id: r.PathValue("id"), op: r.PathValue("op"), query: r.URL.Query()}
	d := g.decide(a)
	if !d.allowed {
		return fail(http.StatusForbidden, "forbidden", "%s", d.why)
	}
	if !d.compartment {
		return nil
	}
	outside := fail(http.StatusForbidden, "forbidden", "this token is for the records of patient %s only (patient/ scopes)", g.patient)
	if a.id == "" {
		for k, vs := range a.query {
			base, _, _ := strings.Cut(k, ":")
			if strings.HasPrefix(base, "patient.") || strings.HasPrefix(base, "subject.") {
				return fail(http.StatusForbidden, "forbidden", "a patient/ token searches its patient's records: chained search on the patient is not needed")
			}
			if base != "patient" && base != "subject" {
				continue
			}
			for _, v := range vs {
				if strings.TrimPrefix(v, "Patient/") != g.patient {
					return outside
				}
			}
		}
		// A type history of a patient's token is of that patient's own records already
		// (the launch patient is the signed-in patient); it takes no patient parameter.
		if !a.query.Has("patient") && !a.query.Has("subject") && !strings.HasSuffix(r.URL.Path, "/_history") {
			a.query.Set("patient", g.patient)
			u := *r.URL
			u.RawQuery = a.query.Encode()
			r.URL = &u
		}
		return nil
	}
	if a.typ == "Patient" {
		if a.id != g.patient {
			return outside
		}
		return nil
	}
	m, err := gw.headMeta(a.typ, a.id)
	if err != nil {
		return err
	}
	if m.Patient != g.patient {
		return outside
	}
	return nil
}
