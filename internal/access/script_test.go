package access

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The scripts under testdata/ hold one case a line:
//
//	facts | request | expected decision
//	actor=dr author=dr grants=g1 | read research | deny wrong-purpose grant=- "does not permit the purpose"
//
// Grants and declarations are defined by name on their own lines before the cases that
// name them ("grant g1 grantee=dr purposes=treatment", "decl e1 provider=dr from=-1h
// until=+1h"). Times are offsets from the block time of the case. Every fact has a default
// (see newCase), so a line says only what the case is about. The expected decision is
// "allow" or "deny", the code, then the grant and declaration it names ("-" or absent for
// none) and a quoted piece of its reason. A purpose "-" is the empty one.

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

type script struct {
	grants map[string]Grant
	decls  map[string]Declaration
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	reached := map[Code]bool{}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s := &script{grants: map[string]Grant{}, decls: map[string]Declaration{}}
			sc := bufio.NewScanner(f)
			for n := 1; sc.Scan(); n++ {
				line := strings.TrimSpace(sc.Text())
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				if err := s.run(line, reached); err != nil {
					t.Errorf("%s:%d: %s\n\t%s", file, n, err, line)
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, c := range codes {
		if !reached[c] {
			t.Errorf("no script case expects %q", c)
		}
	}
}

func (s *script) run(line string, reached map[Code]bool) error {
	fields := strings.Fields(line)
	switch fields[0] {
	case "grant":
		g, err := parseGrant(fields[1:])
		s.grants[g.ID] = g
		return err
	case "decl":
		d, err := parseDecl(fields[1:])
		s.decls[d.ID] = d
		return err
	}
	parts := strings.Split(line, "|")
	if len(parts) != 3 {
		return fmt.Errorf("want facts | request | expected, or a grant or decl definition")
	}
	f, err := s.facts(strings.Fields(parts[0]))
	if err != nil {
		return err
	}
	rq := strings.Fields(parts[1])
	if len(rq) != 2 {
		return fmt.Errorf("request %q: want an action and a purpose", parts[1])
	}
	want, err := parseExpect(parts[2])
	if err != nil {
		return err
	}
	if rq[1] == "-" {
		rq[1] = ""
	}
	got := Decide(f, Request{Action: rq[0], Purpose: rq[1]})
	reached[got.Code] = true
	switch {
	case got.Allowed != want.Allowed || got.Code != want.Code || got.Grant != want.Grant || got.Emergency != want.Emergency:
		return fmt.Errorf("got %s, want %s", show(got), show(want))
	case got.Reason == "":
		return fmt.Errorf("decision without a reason: %s", show(got))
	case !strings.Contains(got.Reason, want.Reason):
		return fmt.Errorf("reason %q does not contain %q", got.Reason, want.Reason)
	}
	return nil
}

func show(d Decision) string {
	verb := "deny"
	if d.Allowed {
		verb = "allow"
	}
	return fmt.Sprintf("%s %s grant=%q decl=%q (%s)", verb, d.Code, d.Grant, d.Emergency, d.Reason)
}

// newCase is the default world: provider dr (of St Mary) asks about patient p's record r1
// (general, Observation), written by dw; p was registered by reg.
func newCase() Facts {
	return Facts{Time: t0, Actor: Actor{ID: "dr", Role: ProviderRole, Organization: "St Mary", Active: true},
		Patient: Patient{ID: "p", RegisteredBy: "reg"},
		Record:  &Record{ID: "r1", Patient: "p", Author: "dw", Category: "general", ResourceType: "Observation"}}
}

func (s *script) facts(kvs []string) (Facts, error) {
	f := newCase()
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if f.Record == nil && slices.Contains([]string{"record", "owner", "author", "category", "type", "erased"}, k) {
			return f, fmt.Errorf("%s after record=none", kv)
		}
		var err error
		switch k {
		case "actor":
			f.Actor.ID = v
		case "role":
			f.Actor.Role = v
		case "org":
			f.Actor.Organization = v
		case "inactive":
			f.Actor.Active, f.Actor.Deactivated = false, 7
		case "patient":
			f.Patient.ID = v
		case "registrar":
			f.Patient.RegisteredBy = v
		case "record":
			if v == "none" {
				f.Record = nil
			} else {
				f.Record.ID = v
			}
		case "owner":
			f.Record.Patient = v
		case "author":
			f.Record.Author = v
		case "category":
			f.Record.Category = v
		case "type":
			f.Record.ResourceType = v
		case "erased":
			f.Record.ErasedAt, err = strconv.ParseInt(v, 10, 64)
		case "optout":
			f.OptOuts = list(v)
		case "at":
			f.Time, err = offset(v)
		case "grants":
			for _, n := range list(v) {
				g, ok := s.grants[n]
				if !ok {
					return f, fmt.Errorf("no grant %q defined", n)
				}
				f.Grants = append(f.Grants, g)
			}
		case "decls":
			for _, n := range list(v) {
				d, ok := s.decls[n]
				if !ok {
					return f, fmt.Errorf("no declaration %q defined", n)
				}
				f.Declarations = append(f.Declarations, d)
			}
		default:
			return f, fmt.Errorf("unknown fact %q", k)
		}
		if err != nil {
			return f, fmt.Errorf("%s: %w", kv, err)
		}
	}
	return f, nil
}

// parseGrant reads "NAME key=value ...". A grant defaults to patient p, read for
// treatment, every record, from a day before the block time, no expiry. deny= adds a deny
// provision: "any", or "categories:a,b/types:T/records:r/purposes:research".
func parseGrant(fields []string) (Grant, error) {
	if len(fields) == 0 {
		return Grant{}, fmt.Errorf("grant needs a name")
	}
	g := Grant{ID: fields[0], Patient: "p", Actions: []string{Read}, Purposes: []string{Treatment}, Start: t0.Add(-24 * time.Hour)}
	for _, kv := range fields[1:] {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "patient":
			g.Patient = v
		case "grantee":
			g.Grantee = v
		case "org":
			g.Organization = v
		case "actions":
			g.Actions = list(v)
		case "purposes":
			g.Purposes = list(v)
		case "categories", "types", "records":
			setScope(&g.Scope, k, list(v))
		case "from":
			g.Start, err = offset(v)
		case "until":
			g.Expiry, err = offset(v)
		case "revoked":
			g.RevokedAt, err = strconv.ParseInt(v, 10, 64)
		case "deny":
			var dn Deny
			dn, err = parseDeny(v)
			g.Deny = append(g.Deny, dn)
		default:
			err = fmt.Errorf("unknown grant field")
		}
		if err != nil {
			return g, fmt.Errorf("grant %s: %s: %v", g.ID, kv, err)
		}
	}
	return g, nil
}

func parseDeny(v string) (Deny, error) {
	var dn Deny
	for _, part := range strings.Split(v, "/") {
		k, vals, _ := strings.Cut(part, ":")
		switch k {
		case "any": // every record: the empty scope
		case "categories", "types", "records":
			setScope(&dn.Scope, k, list(vals))
		case "purposes":
			dn.Purposes = list(vals)
		default:
			return dn, fmt.Errorf("deny provision: unknown dimension %q", k)
		}
	}
	return dn, nil
}

func setScope(s *Scope, k string, v []string) {
	switch k {
	case "categories":
		s.Categories = v
	case "types":
		s.ResourceTypes = v
	case "records":
		s.Records = v
	}
}

// parseDecl reads "NAME key=value ...": provider dr, category general, open from an hour
// before to an hour after the block time.
func parseDecl(fields []string) (Declaration, error) {
	if len(fields) == 0 {
		return Declaration{}, fmt.Errorf("decl needs a name")
	}
	d := Declaration{ID: fields[0], Provider: "dr", Categories: []string{"general"}, Start: t0.Add(-time.Hour), Expiry: t0.Add(time.Hour)}
	for _, kv := range fields[1:] {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "provider":
			d.Provider = v
		case "categories":
			d.Categories = list(v)
		case "from":
			d.Start, err = offset(v)
		case "until":
			d.Expiry, err = offset(v)
		default:
			err = fmt.Errorf("unknown declaration field")
		}
		if err != nil {
			return d, fmt.Errorf("decl %s: %s: %v", d.ID, kv, err)
		}
	}
	return d, nil
}

// parseExpect reads `allow|deny CODE [grant=ID] [decl=ID] ["reason part"]`.
func parseExpect(s string) (Decision, error) {
	var d Decision
	head, reason, quoted := strings.Cut(s, `"`)
	if quoted {
		r, err := strconv.Unquote(`"` + strings.TrimSpace(reason))
		if err != nil {
			return d, fmt.Errorf("reason in %q: want one Go-quoted string", s)
		}
		d.Reason = r
	}
	f := strings.Fields(head)
	if len(f) < 2 || (f[0] != "allow" && f[0] != "deny") {
		return d, fmt.Errorf("expected %q: want allow or deny and a code", s)
	}
	d.Allowed, d.Code = f[0] == "allow", Code(f[1])
	if !slices.Contains(codes, d.Code) {
		return d, fmt.Errorf("unknown code %q", f[1])
	}
	for _, kv := range f[2:] {
		k, v, _ := strings.Cut(kv, "=")
		if v == "-" {
			v = ""
		}
		switch k {
		case "grant":
			d.Grant = v
		case "decl":
			d.Emergency = v
		default:
			return d, fmt.Errorf("unknown expectation %q", kv)
		}
	}
	return d, nil
}

// offset reads a time relative to t0 ("-1h", "+30m", "0"); "none" is the zero time.
func offset(v string) (time.Time, error) {
	if v == "none" {
		return time.Time{}, nil
	}
	if v == "0" {
		return t0, nil
	}
	d, err := time.ParseDuration(v)
	return t0.Add(d), err
}

func list(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func TestZeroDecisionDenies(t *testing.T) {
	var d Decision
	if d.Allowed {
		t.Fatal("the zero Decision allows")
	}
	if d := Decide(Facts{}, Request{}); d.Allowed || d.Code != Inactive {
		t.Fatalf("empty facts: %+v", d)
	}
	if d := Decide(Facts{Actor: Actor{Active: true}}, Request{Action: Read, Purpose: Treatment}); d.Allowed {
		t.Fatalf("an active actor with no id, no patient and no record: %+v", d)
	}
}
