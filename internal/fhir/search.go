package fhir

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
)

// searchParam is a search parameter of a resource type: the element paths it reads (a
// choice element by its name without [x], a nested element as parent.child). Paths follow
// the R4 SearchParameter expressions for these types.
type searchParam struct {
	kind  string // date, token, string or reference
	paths []string
}

// params are the search parameters supported besides patient, _id, _lastUpdated, _count,
// _offset and _sort. "date" is the R4 clinical date where R4 defines one; other types
// have their own date parameter. status, clinical-status, verification-status, category
// and encounter are the ones US Core asks of a server; _tag (meta.tag) is on every type.
var params = map[string]map[string]searchParam{
	"AllergyIntolerance": {"date": {"date", []string{"recordedDate"}}, "code": {"token", []string{"code"}}, "category": {"token", []string{"category"}},
		"clinical-status": {"token", []string{"clinicalStatus"}}, "verification-status": {"token", []string{"verificationStatus"}}},
	"CarePlan": {"date": {"date", []string{"period"}}, "category": {"token", []string{"category"}}, "status": {"token", []string{"status"}},
		"encounter": {"reference", []string{"encounter"}}},
	"Claim": {"created": {"date", []string{"created"}}, "status": {"token", []string{"status"}}},
	"Condition": {"onset-date": {"date", []string{"onset"}}, "recorded-date": {"date", []string{"recordedDate"}}, "code": {"token", []string{"code"}}, "category": {"token", []string{"category"}},
		"clinical-status": {"token", []string{"clinicalStatus"}}, "verification-status": {"token", []string{"verificationStatus"}}, "encounter": {"reference", []string{"encounter"}}},
	"DiagnosticReport": {"date": {"date", []string{"effective"}}, "code": {"token", []string{"code"}}, "category": {"token", []string{"category"}}, "status": {"token", []string{"status"}},
		"encounter": {"reference", []string{"encounter"}}},
	"DocumentReference": {"date": {"date", []string{"date"}}, "category": {"token", []string{"category"}}, "type": {"token", []string{"type"}}, "status": {"token", []string{"status"}},
		"encounter": {"reference", []string{"context.encounter"}}},
	"Encounter":            {"date": {"date", []string{"period"}}, "type": {"token", []string{"type"}}, "status": {"token", []string{"status"}}, "class": {"token", []string{"class"}}},
	"ExplanationOfBenefit": {"created": {"date", []string{"created"}}, "status": {"token", []string{"status"}}},
	"Goal":                 {"start-date": {"date", []string{"start"}}, "category": {"token", []string{"category"}}, "lifecycle-status": {"token", []string{"lifecycleStatus"}}},
	"ImagingStudy":         {"started": {"date", []string{"started"}}, "status": {"token", []string{"status"}}, "encounter": {"reference", []string{"encounter"}}},
	"Immunization":         {"date": {"date", []string{"occurrence"}}, "vaccine-code": {"token", []string{"vaccineCode"}}, "status": {"token", []string{"status"}}},
	"MedicationRequest": {"authoredon": {"date", []string{"authoredOn"}}, "code": {"token", []string{"medication"}}, "category": {"token", []string{"category"}}, "status": {"token", []string{"status"}},
		"intent": {"token", []string{"intent"}}, "encounter": {"reference", []string{"encounter"}}},
	"Observation": {"date": {"date", []string{"effective"}}, "code": {"token", []string{"code"}}, "category": {"token", []string{"category"}}, "status": {"token", []string{"status"}},
		"encounter": {"reference", []string{"encounter"}}},
	"Organization": {"name": {"string", []string{"name", "alias"}}},
	"Patient": {"birthdate": {"date", []string{"birthDate"}}, "gender": {"token", []string{"gender"}},
		"name": {"string", []string{"name"}}, "family": {"string", []string{"name.family"}}, "given": {"string", []string{"name.given"}}},
	"Practitioner": {"name": {"string", []string{"name"}}, "family": {"string", []string{"name.family"}}, "given": {"string", []string{"name.given"}}},
	"Procedure": {"date": {"date", []string{"performed"}}, "code": {"token", []string{"code"}}, "category": {"token", []string{"category"}}, "status": {"token", []string{"status"}},
		"encounter": {"reference", []string{"encounter"}}},
}

func init() {
	for _, rt := range Supported {
		params[rt]["identifier"] = searchParam{"token", []string{"identifier"}}
		params[rt]["_tag"] = searchParam{"token", []string{"meta.tag"}}
	}
}

// sortDate is the date _sort=date orders by: the "date" parameter, or the type's own.
func sortDate(rt string) (searchParam, bool) {
	ps := params[rt]
	if p, ok := ps["date"]; ok {
		return p, true
	}
	for _, n := range []string{"created", "onset-date", "authoredon", "started", "start-date", "birthdate"} {
		if p, ok := ps[n]; ok {
			return p, true
		}
	}
	return searchParam{}, false
}

const (
	defaultCount = 50
	maxCount     = 1000
	readWorkers  = 64
)

type query struct {
	patient string
	ids     []string
	updated [][]string // AND of ORs
	filters []filter
	count   int
	offset  int
	sort    string   // "", "date", "-date", "_lastUpdated", "-_lastUpdated"
	inc     []incl   // _include
	rev     []incl   // _revinclude
	summary string   // _summary: "", count, true, data or false
	elems   []string // _elements
	chains  []filter // patient.<param> (or subject:Patient.<param>): filters on the Patient
	links   []chain  // other chains, followed within the patient (chain.go)
	has     []has    // _has:Source:param:filter (chain.go)
}

type filter struct {
	name   string
	mod    string // modifier: exact or contains (string), the target type (reference)
	p      searchParam
	values []string // OR
}

// parseFilter reads one search parameter of rt (name, or name:modifier) and its value.
func parseFilter(rt, k, v string) (filter, error) {
	bad := func(format string, args ...any) error {
		return fail(http.StatusBadRequest, "invalid", format, args...)
	}
	name, mod, _ := strings.Cut(k, ":")
	p, ok := params[rt][name]
	if !ok {
		return filter{}, bad("search parameter %q is not supported for %s (see /metadata)", name, rt)
	}
	switch {
	case mod == "":
	case p.kind == "string" && (mod == "exact" || mod == "contains"):
	case p.kind == "reference" && mod == "Encounter":
	default:
		return filter{}, bad("%s: the modifier :%s is not supported on a %s parameter", k, mod, p.kind)
	}
	f := filter{name: name, mod: mod, p: p, values: strings.Split(v, ",")}
	for _, x := range f.values {
		if p.kind == "date" {
			if _, _, _, err := dateArg(x); err != nil {
				return filter{}, bad("%s=%s: %v", k, x, err)
			}
		} else if x == "" {
			return filter{}, bad("%s: empty value", k)
		}
	}
	return f, nil
}

func parseQuery(rt string, q url.Values) (*query, error) {
	out := &query{count: defaultCount}
	bad := func(format string, args ...any) error {
		return fail(http.StatusBadRequest, "invalid", format, args...)
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		vs := q[k]
		switch k {
		case "patient", "subject":
			for _, v := range vs {
				v = strings.TrimPrefix(v, "Patient/")
				if out.patient != "" && out.patient != v {
					return nil, bad("search within one patient's records at a time")
				}
				out.patient = v
			}
		case "_id":
			for _, v := range vs {
				out.ids = append(out.ids, strings.Split(v, ",")...)
			}
		case "_lastUpdated":
			for _, v := range vs {
				out.updated = append(out.updated, strings.Split(v, ","))
			}
		case "_count":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 0 || n > maxCount {
				return nil, bad("_count must be 0-%d", maxCount)
			}
			out.count = n
		case "_offset":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 0 {
				return nil, bad("_offset must be a non-negative integer")
			}
			out.offset = n
		case "_sort":
			s := vs[0]
			switch strings.TrimPrefix(s, "-") {
			case "date", "_lastUpdated":
				if strings.TrimPrefix(s, "-") == "date" {
					if _, ok := sortDate(rt); !ok {
						return nil, bad("%s has no date to sort by", rt)
					}
				}
				out.sort = s
			default:
				return nil, bad("_sort supports date, -date, _lastUpdated and -_lastUpdated, not %q", s)
			}
		case "_include", "_revinclude", "_include:iterate", "_revinclude:iterate":
			base, iter := strings.CutSuffix(k, ":iterate")
			for _, v := range vs {
				in, err := parseIncl(rt, v, base == "_revinclude", iter)
				if err != nil {
					return nil, err
				}
				if base == "_include" {
					out.inc = append(out.inc, in...)
				} else {
					out.rev = append(out.rev, in...)
				}
			}
		case "_summary":
			switch vs[0] {
			case "count", "true", "data", "false":
				out.summary = vs[0]
			default:
				return nil, bad("_summary=%s: use count, true, data or false", vs[0])
			}
		case "_elements":
			for _, v := range vs {
				for _, e := range strings.Split(v, ",") {
					if !isElement(rt, e) {
						return nil, bad("_elements: %s has no element %q", rt, e)
					}
					out.elems = append(out.elems, e)
				}
			}
		case "_cursor":
			if rt != "AuditEvent" {
				return nil, bad("_cursor pages AuditEvent searches only")
			}
		case "_format":
			if v := vs[0]; v != "json" && v != FHIRJSON && v != "application/json" {
				return nil, bad("only JSON is served")
			}
		default:
			for _, v := range vs {
				if strings.HasPrefix(k, "_has:") {
					h, err := parseHas(rt, k, v)
					if err != nil {
						return nil, err
					}
					out.has = append(out.has, h)
					continue
				}
				if strings.Contains(k, ".") {
					f, c, err := parseChain(rt, k, v)
					if err != nil {
						return nil, err
					}
					if f != nil {
						out.chains = append(out.chains, *f)
					} else {
						out.links = append(out.links, *c)
					}
					continue
				}
				f, err := parseFilter(rt, k, v)
				if err != nil {
					return nil, err
				}
				out.filters = append(out.filters, f)
			}
		}
	}
	if out.summary == "count" {
		out.count = 0 // the total alone
	}
	if out.summary != "" && out.summary != "false" && len(out.elems) > 0 {
		return nil, bad("_summary=%s and _elements cannot be combined", out.summary)
	}
	for _, group := range out.updated {
		for _, x := range group {
			if _, _, _, err := dateArg(x); err != nil {
				return nil, bad("_lastUpdated=%s: %v", x, err)
			}
		}
	}
	return out, nil
}

// dateArg splits a date search value into its prefix and range.
func dateArg(s string) (string, time.Time, time.Time, error) {
	prefix := "eq"
	if len(s) > 2 && s[0] >= 'a' && s[0] <= 'z' {
		prefix, s = s[:2], s[2:]
	}
	switch prefix {
	case "eq", "ne", "lt", "gt", "le", "ge", "sa", "eb":
	default:
		return "", time.Time{}, time.Time{}, fmt.Errorf("prefix %q is not supported", prefix)
	}
	lo, hi, err := parseFHIRTime(s)
	if err == nil && len(s) > 10 && !strings.ContainsAny(s[10:], "Z+-") {
		err = fmt.Errorf("a time needs a zone")
	}
	return prefix, lo, hi, err
}

// dateMatch applies R4 date search semantics between the search range [vlo,vhi) and the
// target range [tlo,thi).
func dateMatch(prefix string, vlo, vhi, tlo, thi time.Time) bool {
	eq := !tlo.Before(vlo) && !thi.After(vhi)
	switch prefix {
	case "eq":
		return eq
	case "ne":
		return !eq
	case "gt":
		return thi.After(vhi)
	case "lt":
		return tlo.Before(vlo)
	case "ge":
		return thi.After(vhi) || eq
	case "le":
		return tlo.Before(vlo) || eq
	case "sa":
		return !tlo.Before(vhi)
	case "eb":
		return !thi.After(vlo)
	}
	return false
}

var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// values collects the JSON values an element path holds; a choice name matches every
// name[Type]; parent.child is each child of each parent.
func values(o Object, path string) []any {
	if head, rest, ok := strings.Cut(path, "."); ok {
		var out []any
		for _, v := range values(o, head) {
			if c, ok := v.(Object); ok {
				out = append(out, values(c, rest)...)
			}
		}
		return out
	}
	var out []any
	for k, v := range o {
		if k == path || (strings.HasPrefix(k, path) && len(k) > len(path) && k[len(path)] >= 'A' && k[len(path)] <= 'Z') {
			if arr, ok := v.([]any); ok {
				out = append(out, arr...)
			} else {
				out = append(out, v)
			}
		}
	}
	return out
}

// ranges turns date, dateTime, instant and Period values into time ranges.
func ranges(vs []any) [][2]time.Time {
	var out [][2]time.Time
	for _, v := range vs {
		switch x := v.(type) {
		case string:
			if lo, hi, err := parseFHIRTime(x); err == nil {
				out = append(out, [2]time.Time{lo, hi})
			}
		case Object:
			lo, hi := minTime, maxTime
			if s, ok := x["start"].(string); ok {
				if l, _, err := parseFHIRTime(s); err == nil {
					lo = l
				}
			}
			if e, ok := x["end"].(string); ok {
				if _, h, err := parseFHIRTime(e); err == nil {
					hi = h
				}
			}
			if x["start"] != nil || x["end"] != nil {
				out = append(out, [2]time.Time{lo, hi})
			}
		}
	}
	return out
}

// tokenMatch matches system|code, code, |code and system| against CodeableConcepts,
// Codings and codes.
func tokenMatch(vs []any, arg string) bool {
	system, code, hasBar := strings.Cut(arg, "|")
	if !hasBar {
		system, code = "", arg
	}
	one := func(sys, c string) bool {
		switch {
		case !hasBar:
			return c == code
		case system == "":
			return sys == "" && c == code
		case code == "":
			return sys == system
		}
		return sys == system && c == code
	}
	for _, v := range vs {
		switch x := v.(type) {
		case string:
			if one("", x) {
				return true
			}
		case Object:
			if c, ok := x["value"].(string); ok && x["code"] == nil { // Identifier: system|value
				sys, _ := x["system"].(string)
				if one(sys, c) {
					return true
				}
			}
			if c, ok := x["code"].(string); ok {
				sys, _ := x["system"].(string)
				if one(sys, c) {
					return true
				}
			}
			codings, _ := x["coding"].([]any)
			for _, cd := range codings {
				co, _ := cd.(Object)
				sys, _ := co["system"].(string)
				c, _ := co["code"].(string)
				if one(sys, c) {
					return true
				}
			}
		}
	}
	return false
}

// foldString is a string as R4 string search compares it: lower case, the common Latin
// accents removed, spaces collapsed.
func foldString(s string) string {
	return strings.Join(strings.Fields(accents.Replace(strings.ToLower(s))), " ")
}

var accents = strings.NewReplacer("à", "a", "á", "a", "â", "a", "ã", "a", "ä", "a", "å", "a", "ç", "c", "è", "e", "é", "e", "ê", "e", "ë", "e",
	"ì", "i", "í", "i", "î", "i", "ï", "i", "ñ", "n", "ò", "o", "ó", "o", "ô", "o", "õ", "o", "ö", "o", "ø", "o", "ù", "u", "ú", "u", "û", "u", "ü", "u", "ý", "y", "ÿ", "y", "ß", "ss")

// stringsOf are the strings a string parameter compares: the value itself, or every part
// of a HumanName or Address (family, given, prefix, suffix, text, line, city, ...).
func stringsOf(vs []any) []string {
	var out []string
	for _, v := range vs {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			out = append(out, stringsOf(x)...)
		case Object:
			for k, e := range x {
				if k != "use" && k != "period" && k != "extension" && k != "id" {
					out = append(out, stringsOf([]any{e})...)
				}
			}
		}
	}
	return out
}

// stringMatch is R4 string search: a part that starts with the argument (case and accent
// insensitive), :contains anywhere in a part, :exact equal to a part.
func stringMatch(vs []any, arg, mod string) bool {
	a := foldString(arg)
	for _, s := range stringsOf(vs) {
		switch mod {
		case "exact":
			if s == arg {
				return true
			}
		case "contains":
			if strings.Contains(foldString(s), a) {
				return true
			}
		default:
			if strings.HasPrefix(foldString(s), a) {
				return true
			}
		}
	}
	return false
}

// refMatch matches a reference argument (id, Type/id or an absolute URL ending in
// Type/id) against References to target.
func refMatch(vs []any, target, arg string) bool {
	var want string
	if parts := strings.Split(arg, "/"); len(parts) >= 2 {
		want = parts[len(parts)-2] + "/" + parts[len(parts)-1]
	} else {
		want = target + "/" + arg
	}
	for _, v := range vs {
		r, _ := v.(Object)
		ref, _ := r["reference"].(string)
		if parts := strings.Split(ref, "/"); len(parts) >= 2 && parts[len(parts)-2]+"/"+parts[len(parts)-1] == want {
			return true
		}
	}
	return false
}

func (f filter) match(o Object) bool {
	var vs []any
	for _, p := range f.p.paths {
		vs = append(vs, values(o, p)...)
	}
	for _, arg := range f.values {
		switch f.p.kind {
		case "token":
			if tokenMatch(vs, arg) {
				return true
			}
			continue
		case "string":
			if stringMatch(vs, arg, f.mod) {
				return true
			}
			continue
		case "reference":
			if refMatch(vs, "Encounter", arg) {
				return true
			}
			continue
		}
		prefix, lo, hi, _ := dateArg(arg)
		for _, r := range ranges(vs) {
			if dateMatch(prefix, lo, hi, r[0], r[1]) {
				return true
			}
		}
	}
	return false
}

type hit struct {
	m *records.Meta
	o Object
}

func (g *Gateway) search(w http.ResponseWriter, r *http.Request, s *session) {
	rt := r.PathValue("type")
	if err := validType(rt); err != nil {
		writeErr(w, err)
		return
	}
	q, err := parseQuery(rt, r.URL.Query())
	if err != nil {
		writeErr(w, err)
		return
	}
	switch rt {
	case "Consent":
		g.searchConsent(w, r, s, q)
		return
	case "AuditEvent":
		g.searchAudit(w, r, s, q)
		return
	}
	pur, err := purpose(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	if q.patient == "" {
		switch {
		case s.who.Role == identity.Patient:
			q.patient = s.who.ID
		case len(q.ids) > 0:
			if m, err := g.headMeta(rt, q.ids[0]); err == nil {
				q.patient = m.Patient
			} else if rt == "Patient" {
				if c, _ := g.away(r.Context(), q.ids[0]); c != nil {
					q.patient = q.ids[0] // a patient of another shard, found at home
				}
			}
		}
	}
	var hits []hit
	var fromIndex map[string]bool // hits hold index cards (but these, read): the page is read below
	switch {
	case rt == "Patient" && q.patient == "":
		hits, fromIndex, err = g.matchPatients(r.Context(), s, pur, q.filters)
		hits = slices.DeleteFunc(hits, func(h hit) bool { return !updatedMatch(q.updated, h.m) })
		if err == nil {
			hits, err = g.narrow(r.Context(), s, pur, hits, q)
		}
		sortHits(rt, q.sort, hits)
	case len(q.chains) > 0:
		hits, err = g.findChained(r.Context(), s, rt, pur, q)
	case q.patient == "":
		err = fail(http.StatusBadRequest, "required", "search within a patient's records: add patient=<identity id>, or find the patient first (Patient?family=...&birthdate=..., or a chain such as patient.family=)")
	default:
		hits, err = g.find(r.Context(), s, rt, pur, q)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	end := min(q.offset+q.count, len(hits))
	page := hits[min(q.offset, len(hits)):max(end, min(q.offset, len(hits)))]
	if fromIndex != nil {
		if page, err = g.releasePatients(r.Context(), s, pur, page, fromIndex, q.filters); err != nil {
			writeErr(w, err)
			return
		}
	}
	inc, withheld, err := g.includes(r.Context(), s, pur, page, q.inc, q.rev)
	if err != nil {
		writeErr(w, err)
		return
	}
	for i := range page {
		page[i].o = subset(rt, page[i].o, q)
	}
	b := pageBundle(r, q, len(hits), page)
	entries, _ := b["entry"].([]any)
	for _, h := range inc {
		entries = append(entries, Object{"fullUrl": fullURL(r, h.m.ResourceType, h.m.RecordID), "resource": h.o, "search": Object{"mode": "include"}})
	}
	if withheld > 0 {
		oo := NewOutcome("information", "suppressed", "", "%d resource(s) named by _include were withheld: the ledger denied their read (recorded in the audit trail)", withheld)
		entries = append(entries, Object{"resource": oo, "search": Object{"mode": "outcome"}})
	}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	writeResource(w, http.StatusOK, b)
}

// findChained answers a search whose patient is given by chained parameters
// (patient.family=...): the patients they match (matchPatients: the patient index, within
// the caller's consent), then the search within each of them (and within patient= if it
// is given too), whose every candidate is an audited read.
func (g *Gateway) findChained(ctx context.Context, s *session, rt, pur string, q *query) ([]hit, error) {
	ps, _, err := g.matchPatients(ctx, s, pur, q.chains)
	if err != nil {
		return nil, err
	}
	var out []hit
	for _, p := range ps {
		if q.patient != "" && p.m.Patient != q.patient {
			continue
		}
		q2 := *q
		q2.patient = p.m.Patient
		hs, err := g.find(ctx, s, rt, pur, &q2)
		if err != nil {
			return nil, err
		}
		out = append(out, hs...)
	}
	sortHits(rt, q.sort, out)
	return out, nil
}

// find reads the candidates from this node's record index (metadata every node holds),
// keeps those of the type, id and update time asked for that access.Decide lets the caller read
// (a pre-filter, so a search does not record a denial for every record outside a grant),
// then reads and decrypts each through the ledger (one audited read each, batched by the
// node into blocks) and filters on content. A caller who may read none of the patient's
// records gets the ledger's audited denial of a list access.
func (g *Gateway) find(ctx context.Context, s *session, rt, pur string, q *query) ([]hit, error) {
	if c, err := g.away(ctx, q.patient); err != nil || c != nil {
		if err == nil {
			err = acrossShards(q)
		}
		if err != nil {
			return nil, err
		}
	}
	cands, err := g.candidates(ctx, s, func(t string) bool { return t == rt }, pur, q)
	if err != nil {
		return nil, err
	}
	hits, err := g.readHits(ctx, s, cands, pur)
	if err != nil {
		return nil, err
	}
	var out []hit
	for _, h := range hits {
		keep := true
		for _, f := range q.filters {
			if !f.match(h.o) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, h)
		}
	}
	if out, err = g.narrow(ctx, s, pur, out, q); err != nil {
		return nil, err
	}
	sortHits(rt, q.sort, out)
	return out, nil
}

// candidates is the metadata pre-filter of find: the head versions of the patient's
// records of the types asked for that the caller may read, with the ids and update times
// asked for. A caller who may read none of the patient's records gets the ledger's audited
// denial of a list access.
func (g *Gateway) candidates(ctx context.Context, s *session, typ func(string) bool, pur string, q *query) ([]*records.Meta, error) {
	if c, err := g.away(ctx, q.patient); err != nil || c != nil {
		if err != nil {
			return nil, err
		}
		return g.candidatesAway(ctx, s, c, typ, pur, q)
	}
	v := g.b.View()
	f := records.AccessFacts(v, s.who, q.patient, pur, g.Now(), emergency.Facts)
	readable := false
	var cands []*records.Meta
	for _, id := range records.PatientRecords(v, q.patient) {
		m := records.Version(v, id, records.Head(v, id))
		if m == nil {
			continue
		}
		if !records.Readable(f, m, pur) {
			continue
		}
		readable = true
		if !typ(m.ResourceType) || m.ContentType != ContentType {
			continue
		}
		if len(q.ids) > 0 && !slices.Contains(q.ids, m.RecordID) {
			continue
		}
		if updatedMatch(q.updated, m) {
			cands = append(cands, m)
		}
	}
	if !readable {
		if _, err := g.c.ListRecords(ctx, s.ks, q.patient, pur); err != nil {
			return nil, err
		}
	}
	return cands, nil
}

// updatedMatch applies _lastUpdated (an AND of ORs) to a record version.
func updatedMatch(updated [][]string, m *records.Meta) bool {
	t := time.Unix(m.Time, 0)
	for _, group := range updated {
		matched := false
		for _, arg := range group {
			prefix, lo, hi, _ := dateArg(arg)
			if dateMatch(prefix, lo, hi, t, t.Add(time.Second)) {
				matched = true
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

// readHits reads and decrypts each record through the ledger: one audited read each,
// batched by the node into blocks.
func (g *Gateway) readHits(ctx context.Context, s *session, cands []*records.Meta, pur string) ([]hit, error) {
	hits, errs := g.readEach(ctx, s, cands, pur)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return hits, nil
}

// readEach reads the records in parallel (readWorkers at a time), each hit or error at its
// record's index.
func (g *Gateway) readEach(ctx context.Context, s *session, ms []*records.Meta, pur string) ([]hit, []error) {
	return readParallel(ms, func(m *records.Meta) (hit, error) {
		vs, err := g.readRecord(ctx, s, m, pur, false)
		if err != nil {
			return hit{}, err
		}
		return hit{m, vs[0]}, nil
	})
}

// readParallel calls read for each record, readWorkers at a time (each an audited read the
// node batches into blocks), each hit or error at its record's index.
func readParallel(ms []*records.Meta, read func(*records.Meta) (hit, error)) ([]hit, []error) {
	hits := make([]hit, len(ms))
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	sem := make(chan struct{}, readWorkers)
	for i, m := range ms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			hits[i], errs[i] = read(m)
		}()
	}
	wg.Wait()
	return hits, errs
}

func sortHits(rt, by string, hs []hit) {
	desc := strings.HasPrefix(by, "-")
	key := func(h hit) time.Time {
		if strings.TrimPrefix(by, "-") == "date" {
			p, _ := sortDate(rt)
			var vs []any
			for _, path := range p.paths {
				vs = append(vs, values(h.o, path)...)
			}
			if rs := ranges(vs); len(rs) > 0 {
				return rs[0][0]
			}
			return minTime
		}
		return time.Unix(h.m.Time, 0)
	}
	slices.SortStableFunc(hs, func(a, b hit) int {
		if by != "" {
			c := key(a).Compare(key(b))
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a.m.RecordID, b.m.RecordID)
	})
}

// pageBundle is a searchset holding one page of total matches, with self, next and
// previous links that keep the request's parameters. _count=0 asks for the total only, so
// it has no next page: following next always ends.
func pageBundle(r *http.Request, q *query, total int, page []hit) Object {
	self := *r.URL
	link := func(offset int) string {
		v := self.Query()
		v.Set("_offset", strconv.Itoa(offset))
		v.Set("_count", strconv.Itoa(q.count))
		return baseURL(r) + strings.TrimPrefix(self.Path, Prefix) + "?" + v.Encode()
	}
	links := []any{Object{"relation": "self", "url": link(q.offset)}}
	if end := q.offset + q.count; q.count > 0 && end < total {
		links = append(links, Object{"relation": "next", "url": link(end)})
	}
	if q.offset > 0 && q.count > 0 {
		links = append(links, Object{"relation": "previous", "url": link(max(0, q.offset-q.count))})
	}
	entries := make([]any, 0, len(page))
	for _, h := range page {
		entries = append(entries, Object{"fullUrl": fullURL(r, h.m.ResourceType, h.m.RecordID), "resource": h.o, "search": Object{"mode": "match"}})
	}
	b := Object{"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	return b
}
