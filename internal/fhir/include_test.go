package fhir

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/audit"
)

// modes splits a searchset's entries by search.mode into Type/id lists.
func modes(t *testing.T, b Object) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		eo := e.(Object)
		r := eo["resource"].(Object)
		mode := eo["search"].(Object)["mode"].(string)
		id, _ := r["id"].(string)
		out[mode] = append(out[mode], r["resourceType"].(string)+"/"+id)
	}
	return out
}

func subsetted(o Object) bool {
	meta, _ := o["meta"].(Object)
	tags, _ := meta["tag"].([]any)
	return slices.ContainsFunc(tags, func(t any) bool {
		return t.(Object)["code"] == "SUBSETTED" && t.(Object)["system"] == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
	})
}

// testInclude: _include follows a match's references to the patient and its encounters,
// _revinclude finds what points at a match, both marked search.mode include, each an
// audited read; _summary and _elements return subsets tagged SUBSETTED.
func (f *fixture) testInclude(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[0])
	p := "patient=" + s.patient
	heights := "/Observation?" + p + "&code=http://loinc.org|8302-2"

	before := reads(t, f, f.cast.Provider, "success")
	_, plain := f.do(tok, "GET", heights, nil)
	searchReads := reads(t, f, f.cast.Provider, "success") - before // every Observation, to match the code
	var encs []string
	for _, e := range plain["entry"].([]any) {
		ref := e.(Object)["resource"].(Object)["encounter"].(Object)["reference"].(string)
		if !slices.Contains(encs, ref) {
			encs = append(encs, ref)
		}
	}
	before = reads(t, f, f.cast.Provider, "success")
	code, b := f.do(tok, "GET", heights+"&_include=Observation:encounter&_include=Observation:patient:Patient", nil)
	m := modes(t, b)
	if code != 200 || total(b) != 10 || len(m["match"]) != 10 || len(encs) == 0 {
		t.Fatalf("include: %d total %d %v", code, total(b), m)
	}
	want := append(slices.Clone(encs), "Patient/"+s.patient)
	slices.Sort(want)
	got := slices.Sorted(slices.Values(m["include"]))
	if !slices.Equal(got, want) {
		t.Fatalf("included %v, want %v", got, want)
	}
	if after := reads(t, f, f.cast.Provider, "success"); after-before != searchReads+len(want) {
		t.Fatalf("%d resources included in %d audited reads more than the search", len(want), after-before-searchReads)
	}
	for _, e := range b["entry"].([]any) {
		eo := e.(Object)
		if eo["search"].(Object)["mode"] != "include" {
			continue
		}
		r := eo["resource"].(Object)
		ref := r["resourceType"].(string) + "/" + r["id"].(string)
		if _, direct := f.do(tok, "GET", "/"+ref, nil); !reflect.DeepEqual(direct, r) || eo["fullUrl"] != f.base+"/"+ref {
			t.Fatalf("included %s differs from its read", ref)
		}
	}

	// _revinclude: an Encounter and the Observations that point at it.
	enc := strings.TrimPrefix(encs[0], "Encounter/")
	_, all := f.do(tok, "GET", "/Observation?"+p+"&_count=1000", nil)
	var pointing []string
	for _, e := range all["entry"].([]any) {
		r := e.(Object)["resource"].(Object)
		if ref, _ := r["encounter"].(Object); ref["reference"] == encs[0] {
			pointing = append(pointing, "Observation/"+r["id"].(string))
		}
	}
	code, b = f.do(tok, "GET", "/Encounter?"+p+"&_id="+enc+"&_revinclude=Observation:encounter", nil)
	m = modes(t, b)
	if code != 200 || total(b) != 1 || !slices.Equal(m["match"], []string{encs[0]}) || len(pointing) == 0 ||
		!slices.Equal(slices.Sorted(slices.Values(m["include"])), slices.Sorted(slices.Values(pointing))) {
		t.Fatalf("revinclude: %d %v, want %v", code, m, pointing)
	}
	// Includes are for the page: a page of one height includes one encounter at most.
	_, b = f.do(tok, "GET", heights+"&_sort=date&_count=1&_include=Observation:encounter", nil)
	if m := modes(t, b); len(m["match"]) != 1 || len(m["include"]) != 1 {
		t.Fatalf("include on a page of one: %v", m)
	}

	for _, q := range []string{
		heights + "&_include=Observation:performer",
		heights + "&_include=Encounter:patient",
		heights + "&_include=Observation:encounter:Patient",
		heights + "&_include:iterate=Observation:performer",
		heights + "&_revinclude:iterate=Observation:encounter:Patient",
		heights + "&_include=Observation:*",
		heights + "&_revinclude=Observation:encounter",
		heights + "&_summary=text",
		heights + "&_elements=nosuch",
		heights + "&_summary=true&_elements=code",
	} {
		if code, _ := f.do(tok, "GET", q, nil); code != http.StatusBadRequest {
			t.Fatalf("%s: %d", q, code)
		}
	}

	// _summary=count: the total alone.
	if code, b := f.do(tok, "GET", heights+"&_summary=count", nil); code != 200 || total(b) != 10 || b["entry"] != nil || nextLink(b) != "" {
		t.Fatalf("_summary=count: %d %v", code, b)
	}
	// _summary=true keeps the summary elements (code, value, subject), drops the others
	// (category), and tags the part SUBSETTED; included resources come whole.
	_, b = f.do(tok, "GET", heights+"&_summary=true&_include=Observation:patient", nil)
	for _, e := range b["entry"].([]any) {
		eo := e.(Object)
		r := eo["resource"].(Object)
		if eo["search"].(Object)["mode"] == "include" {
			if subsetted(r) || r["name"] == nil && r["gender"] == nil {
				t.Fatalf("included Patient subsetted: %v", r)
			}
			continue
		}
		if !subsetted(r) || r["code"] == nil || r["valueQuantity"] == nil || r["subject"] == nil || r["status"] == nil || r["category"] != nil || r["id"] == nil {
			t.Fatalf("_summary=true: %v", r)
		}
		if err := ValidateObject(r); err != nil {
			t.Fatalf("a summary is not valid R4: %v", err)
		}
	}
	// _elements keeps the asked elements, id, meta and the mandatory ones (status, code).
	if code, b = f.do(tok, "GET", heights+"&_elements=effective,subject", nil); code != 200 || total(b) != 10 {
		t.Fatalf("_elements: %d %v", code, b)
	}
	for _, e := range b["entry"].([]any) {
		r := e.(Object)["resource"].(Object)
		var keys []string
		for k := range r {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !subsetted(r) || !slices.Equal(keys, []string{"code", "effectiveDateTime", "id", "meta", "resourceType", "status", "subject"}) {
			t.Fatalf("_elements=effective,subject: %v", keys)
		}
	}
	// Data is the whole resource less its narrative, tagged too; false the whole resource.
	_, b = f.do(tok, "GET", heights+"&_summary=false", nil)
	if r := b["entry"].([]any)[0].(Object)["resource"].(Object); subsetted(r) {
		t.Fatalf("_summary=false subsetted: %v", r)
	}
	_, b = f.do(tok, "GET", "/Patient?"+p+"&_summary=data", nil)
	if r := b["entry"].([]any)[0].(Object)["resource"].(Object); !subsetted(r) || r["text"] != nil || r["name"] == nil {
		t.Fatalf("_summary=data: %v", r)
	}
}

// testCapabilityIncludes: the CapabilityStatement lists exactly the includes, the
// operation and the interactions served: every listed _include and _revinclude is
// accepted, and one of every other type's reference parameters is not.
func (f *fixture) testCapabilityIncludes(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[0])
	_, cs := f.do("", "GET", "/metadata", nil)
	if err := ValidateObject(cs); err != nil {
		t.Fatalf("CapabilityStatement: %v", err)
	}
	rest := cs["rest"].([]any)[0].(Object)
	var inter []string
	for _, i := range rest["interaction"].([]any) {
		inter = append(inter, i.(Object)["code"].(string))
	}
	if !slices.Equal(inter, []string{"transaction", "batch", "history-system"}) || !reflect.DeepEqual(rest["compartment"], []any{"http://hl7.org/fhir/CompartmentDefinition/patient"}) {
		t.Fatalf("rest: %v %v", inter, rest["compartment"])
	}
	listed := 0
	none := "&_id=00000000000000000000000000000000"
	for _, x := range rest["resource"].([]any) {
		res := x.(Object)
		rt := res["type"].(string)
		ops, _ := res["operation"].([]any)
		if (rt == "Patient") != (len(ops) == 1) {
			t.Fatalf("%s operations: %v", rt, ops)
		}
		for _, kind := range []string{"searchInclude", "searchRevInclude"} {
			vs, _ := res[kind].([]any)
			for _, v := range vs {
				param := "_include"
				if kind == "searchRevInclude" {
					param = "_revinclude"
				}
				if code, oo := f.do(tok, "GET", "/"+rt+"?patient="+s.patient+none+"&"+param+"="+v.(string), nil); code != 200 {
					t.Fatalf("%s lists %s=%s, which answers %d %v", rt, param, v, code, oo)
				}
				listed++
			}
		}
		if IsSupported(rt) && rt != "Patient" {
			for _, p := range []string{"performer", "requester", "author"} {
				if code, _ := f.do(tok, "GET", "/"+rt+"?patient="+s.patient+none+"&_include="+rt+":"+p, nil); code != http.StatusBadRequest {
					t.Fatalf("%s:%s is not listed but answers %d", rt, p, code)
				}
			}
		}
	}
	if listed < 40 {
		t.Fatalf("%d includes listed", listed)
	}
}

// checkIncludeConsent: under a general-only grant, an _include whose target is a
// sensitive record leaves it out, says so in an outcome entry, and the denial is on the
// ledger. It fails if the patient has no general record pointing at a sensitive encounter.
func (f *fixture) checkIncludeConsent(t *testing.T, s *source, tok, grantee string, cat map[string]string) {
	t.Helper()
	for _, e := range s.entries {
		if cat[e.ID] != CatGeneral || refParams[e.Type]["encounter"].path == "" {
			continue
		}
		r, _ := Parse(mustMarshal(t, e.Resource))
		ResolveReferences(r, s.refs)
		ref, _ := r["encounter"].(Object)
		target, _ := ref["reference"].(string)
		encID := strings.TrimPrefix(target, "Encounter/")
		if target == "" || cat[encID] == CatGeneral {
			continue
		}
		// _include=* follows the patient reference too: the Patient is included, the
		// encounter withheld.
		for inc, want := range map[string][]string{e.Type + ":encounter": nil, "*": {"Patient/" + s.patient}} {
			deniedBefore := deniedReads(t, f, grantee, encID)
			code, b := f.do(tok, "GET", "/"+e.Type+"?patient="+s.patient+"&_id="+e.ID+"&_include="+inc, nil)
			m := modes(t, b)
			if code != 200 || !slices.Equal(m["match"], []string{e.Type + "/" + e.ID}) || !slices.Equal(m["include"], want) || len(m["outcome"]) != 1 {
				t.Fatalf("_include=%s of a %s encounter under a general grant: %d %v", inc, cat[encID], code, m)
			}
			if deniedReads(t, f, grantee, encID) != deniedBefore+1 {
				t.Fatalf("the withheld include of %s (_include=%s) is not audited as a denial", target, inc)
			}
		}
		return
	}
	t.Fatal("no general record of the patient points at a sensitive encounter")
}

func deniedReads(t *testing.T, f *fixture, actor, record string) int {
	t.Helper()
	p, err := f.r.Client.AuditQuery(context.Background(), f.cast.Auditor, audit.Filter{Actor: actor, Action: "record.read", Outcome: "denied", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range p.Events {
		if ev.Record == record {
			n++
		}
	}
	return n
}
