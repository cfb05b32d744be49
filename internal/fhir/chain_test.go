package fhir

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/keys"
)

// codesOf are the system|code of every coding of the source's resources of type rt, with
// the resolved references of the resource that holds each.
func codesOf(s *source, rt string) map[string][]Object {
	out := map[string][]Object{}
	for _, e := range s.entries {
		if e.Type != rt {
			continue
		}
		r, _ := Parse(mustMarshalNoT(e.Resource))
		ResolveReferences(r, s.refs)
		for _, path := range []string{"code", "type"} {
			for _, v := range values(r, path) {
				cc, _ := v.(Object)
				cs, _ := cc["coding"].([]any)
				for _, c := range cs {
					co := c.(Object)
					k := co["system"].(string) + "|" + co["code"].(string)
					out[k] = append(out[k], r)
				}
			}
		}
	}
	return out
}

func mustMarshalNoT(o Object) []byte {
	b, err := Marshal(o)
	if err != nil {
		panic(err)
	}
	return b
}

// testHas: Patient?_has:Observation:subject:code= finds the patients with such an
// Observation among those the caller may read; _has on Encounter finds the encounters the
// Observations point at; malformed or unsupported _has is a 400.
func (f *fixture) testHas(t *testing.T, other *keys.Keystore) {
	f = f.sub(t)
	tok, otok := f.token(f.cast.Provider), f.token(other)
	abdul, alexia, angelic := f.source(f.files[0]), f.source(f.files[1]), f.source(f.files[2])
	var only, shared, onlyType string // a code of Abdul's alone (of onlyType), an Observation code of all three
	for _, rt := range []string{"Observation", "Condition", "Procedure"} {
		ca, cl, cg := codesOf(abdul, rt), codesOf(alexia, rt), codesOf(angelic, rt)
		for _, k := range slices.Sorted(maps.Keys(ca)) {
			_, inL := cl[k]
			_, inG := cg[k]
			if !inL && !inG && only == "" {
				only, onlyType = k, rt
			}
			if inL && inG && shared == "" && rt == "Observation" {
				shared = k
			}
		}
	}
	if only == "" || shared == "" {
		t.Fatalf("no code of Abdul's alone (%q) or of all three (%q)", only, shared)
	}
	patients := func(tok, q string) []string {
		t.Helper()
		code, b := f.do(tok, "GET", "/Patient?"+q, nil)
		if code != 200 || total(b) != len(ids(t, b)) {
			t.Fatalf("Patient?%s: %d %v", q, code, b)
		}
		return slices.Sorted(slices.Values(ids(t, b)))
	}
	all3 := slices.Sorted(slices.Values([]string{abdul.patient, alexia.patient, angelic.patient}))
	for q, want := range map[string][]string{
		"_has:" + onlyType + ":subject:code=" + only:                                              {abdul.patient},
		"_has:" + onlyType + ":patient:code=" + only:                                              {abdul.patient},
		"_has:Observation:subject:code=" + shared:                                                 all3,
		"_has:Observation:subject:code=" + shared + "&family=Senger":                              {alexia.patient},
		"_has:" + onlyType + ":subject:code=" + only + "&family=Senger":                           nil,
		"_has:Observation:subject:code=" + shared + ",http://loinc.org|0000-0":                    all3,
		"_has:" + onlyType + ":subject:code=" + only + "&_has:Observation:subject:code=" + shared: {abdul.patient},
		"_has:Observation:subject:code=http://loinc.org|0000-0":                                   nil,
		"_id=" + alexia.patient + "&_has:Observation:subject:code=" + shared:                      {alexia.patient},
	} {
		if got := patients(tok, q); !slices.Equal(got, want) {
			t.Errorf("Patient?%s: %v, want %v", q, got, want)
		}
	}
	// The other provider may read Alexia only: _has never finds the others.
	if got := patients(otok, "_has:Observation:subject:code="+shared); !slices.Equal(got, []string{alexia.patient}) {
		t.Fatalf("other provider's _has: %v, want Alexia only", got)
	}
	if got := patients(otok, "_has:"+onlyType+":subject:code="+only); len(got) != 0 {
		t.Fatalf("other provider's _has found %v through a patient it may not read", got)
	}
	// _has on another type: the Encounters the Observations with the code point at.
	var encs []string
	for _, o := range codesOf(abdul, onlyType)[only] {
		if ref, ok := o["encounter"].(Object); ok {
			encs = append(encs, strings.TrimPrefix(ref["reference"].(string), "Encounter/"))
		}
	}
	encs = slices.Compact(slices.Sorted(slices.Values(encs)))
	code, b := f.do(tok, "GET", "/Encounter?patient="+abdul.patient+"&_count=1000&_has:"+onlyType+":encounter:code="+only, nil)
	if got := slices.Sorted(slices.Values(ids(t, b))); code != 200 || len(encs) == 0 || !slices.Equal(got, encs) {
		t.Fatalf("Encounter?_has:%s:encounter:code=%s: %d %v, want %v", onlyType, only, code, got, encs)
	}
	for _, q := range []string{
		"/Patient?_has:Observation:subject:_has:Observation:subject:code=x",
		"/Patient?_has:Observation:encounter:code=x",
		"/Patient?_has:Observation:performer:code=x",
		"/Patient?_has:Observation:subject:nosuch=x",
		"/Patient?_has:Observation:subject:patient.name=x",
		"/Patient?_has:Observation=x",
		"/Patient?_has:Nosuch:subject:code=x",
	} {
		if code, oo := f.do(tok, "GET", q, nil); code != http.StatusBadRequest || oo["resourceType"] != "OperationOutcome" {
			t.Fatalf("%s: %d %v", q, code, oo)
		}
	}
}

// testChainLinks writes an Organization, a Practitioner, an Encounter at them and an
// Observation in that Encounter for Abdul, then finds them through chains of one and two
// links, combined with the chain to the patient; _include=* and _revinclude=* follow every
// reference; unsupported chains are a 400 OperationOutcome that says why.
func (f *fixture) testChainLinks(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	abdul := f.source(f.files[0])
	pref := Object{"reference": "Patient/" + abdul.patient}
	create := func(rt string, o Object) string {
		t.Helper()
		code, b := f.do(tok, "POST", "/"+rt+"?patient="+abdul.patient, o)
		if code != http.StatusCreated {
			t.Fatalf("create %s: %d %v", rt, code, b)
		}
		return b["id"].(string)
	}
	org := create("Organization", Object{"resourceType": "Organization", "name": "Zebulon Chain Clinic"})
	doc := create("Practitioner", Object{"resourceType": "Practitioner", "name": []any{Object{"family": "Quixley", "given": []any{"Ada"}}}})
	enc := create("Encounter", Object{"resourceType": "Encounter", "status": "finished", "subject": pref,
		"class":           Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
		"serviceProvider": Object{"reference": "Organization/" + org},
		"participant":     []any{Object{"individual": Object{"reference": "Practitioner/" + doc}}}})
	obs := create("Observation", Object{"resourceType": "Observation", "status": "final", "subject": pref,
		"code":              Object{"coding": []any{Object{"system": "http://loinc.org", "code": "8310-5"}}},
		"encounter":         Object{"reference": "Encounter/" + enc},
		"effectiveDateTime": "2026-03-04T05:06:07Z",
		"valueQuantity":     Object{"value": json.Number("36.6"), "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"}})
	p := "patient=" + abdul.patient + "&_count=1000&"
	for q, want := range map[string][]string{
		"/Observation?" + p + "encounter.service-provider.name=zebulon":                                           {obs},
		"/Observation?" + p + "encounter:Encounter.service-provider:Organization.name:exact=Zebulon Chain Clinic": {obs},
		"/Observation?" + p + "encounter.participant.family=Quixley":                                              {obs},
		"/Observation?" + p + "encounter.participant.family=Quixley&encounter.service-provider.name=Nosuch":       nil,
		"/Observation?" + p + "encounter.service-provider.name=Nosuch":                                            nil,
		"/Observation?" + p + "encounter.patient.family=Koepp&encounter.service-provider.name=Zeb":                {obs},
		"/Observation?subject:Patient.family=Koepp&encounter.service-provider.name=Zeb":                           {obs},
		"/Observation?subject:Patient.family=Senger&encounter.service-provider.name=Zeb":                          nil,
		"/Encounter?" + p + "service-provider.name=Zebulon":                                                       {enc},
		"/Encounter?" + p + "participant.given=ada":                                                               {enc},
		"/Encounter?" + p + "participant.given=ada&_id=" + enc:                                                    {enc},
	} {
		code, b := f.do(tok, "GET", strings.ReplaceAll(q, " ", "%20"), nil)
		if got := ids(t, b); code != 200 || !slices.Equal(got, want) || total(b) != len(want) {
			t.Errorf("%s: %d %v (total %v), want %v", q, code, got, b["total"], want)
		}
	}
	// A one-link chain to the encounter: as many matches as Observations in encounters of
	// that status, read directly.
	_, all := f.do(tok, "GET", "/Observation?"+p+"code=http://loinc.org|8302-2", nil)
	_, chained := f.do(tok, "GET", "/Observation?"+p+"code=http://loinc.org|8302-2&encounter.status=finished", nil)
	if n := total(all); n == 0 || total(chained) != n {
		t.Fatalf("encounter.status=finished kept %d of %d heights (all in finished encounters)", total(chained), n)
	}
	if _, b := f.do(tok, "GET", "/Observation?"+p+"code=http://loinc.org|8302-2&encounter.status=cancelled", nil); total(b) != 0 {
		t.Fatalf("encounter.status=cancelled: %d", total(b))
	}

	// _include=* and _revinclude=*: every reference of (to) the type.
	code, b := f.do(tok, "GET", "/Encounter?"+p+"_id="+enc+"&_include=*", nil)
	m := modes(t, b)
	want := slices.Sorted(slices.Values([]string{"Patient/" + abdul.patient, "Organization/" + org, "Practitioner/" + doc}))
	if code != 200 || !slices.Equal(m["match"], []string{"Encounter/" + enc}) || !slices.Equal(slices.Sorted(slices.Values(m["include"])), want) {
		t.Fatalf("_include=*: %d %v, want %v", code, m, want)
	}
	code, b = f.do(tok, "GET", "/Encounter?"+p+"_id="+enc+"&_revinclude=*", nil)
	if m := modes(t, b); code != 200 || !slices.Equal(m["include"], []string{"Observation/" + obs}) {
		t.Fatalf("_revinclude=*: %d %v", code, m)
	}
	code, b = f.do(tok, "GET", "/Organization?"+p+"_id="+org+"&_revinclude=*&_include:iterate=Encounter:participant", nil)
	if m := modes(t, b); code != 200 || !slices.Equal(slices.Sorted(slices.Values(m["include"])), []string{"Encounter/" + enc, "Practitioner/" + doc}) {
		t.Fatalf("_revinclude=* with _include:iterate: %d %v", code, m)
	}
	code, b = f.do(tok, "GET", "/Observation?"+p+"_id="+obs+"&_include:iterate=*", nil)
	want = slices.Sorted(slices.Values([]string{"Patient/" + abdul.patient, "Encounter/" + enc, "Organization/" + org, "Practitioner/" + doc}))
	if m := modes(t, b); code != 200 || !slices.Equal(slices.Sorted(slices.Values(m["include"])), want) {
		t.Fatalf("_include:iterate=*: %d %v, want %v", code, m, want)
	}

	for q, says := range map[string]string{
		"/Observation?patient.organization.name=x":                 "Patient has no reference parameter \"organization\"",
		"/Observation?subject:Patient.general-practitioner.name=x": "Patient has no reference parameter",
		"/Observation?encounter.service-provider.nosuch=x":         "not supported for Organization",
		"/Observation?encounter.performer.name=x":                  "Encounter has no reference parameter \"performer\"",
		"/Observation?encounter:Patient.name=x":                    "points to Encounter, not Patient",
		"/Organization?patient.name=x":                             "Organization has no reference parameter",
		"/Observation?encounter.service-provider.name=x":           "search within a patient's records",
	} {
		code, oo := f.do(tok, "GET", q, nil)
		if code != http.StatusBadRequest || oo["resourceType"] != "OperationOutcome" || !strings.Contains(oo["issue"].([]any)[0].(Object)["diagnostics"].(string), says) {
			t.Errorf("%s: %d %v, want a 400 saying %q", q, code, oo, says)
		}
	}
}

// checkSensitiveReverse: a record the caller may not read makes nothing match. Under a
// general-only grant (open false), the patient's mental-health encounter does not make
// them match Patient?_has:Encounter:patient:type=, nor a general record match a chain
// through it, and no denial is recorded (nothing was read); a general encounter's type
// does find them; a substance-use condition never does. With a mental-health grant too
// (open true), the mental-health encounter finds them and the chain through it matches.
func (f *fixture) checkSensitiveReverse(t *testing.T, s *source, tok, grantee string, cat map[string]string, open bool) {
	t.Helper()
	encCodes := map[string][]string{} // type code -> categories of the encounters holding it
	var sensitive string              // a mental-health encounter's id
	var sensCode, generalCode string
	for _, e := range s.entries {
		if e.Type != "Encounter" {
			continue
		}
		for k := range codesOf(&source{entries: []*Entry{e}, refs: s.refs}, "Encounter") {
			encCodes[k] = append(encCodes[k], cat[e.ID])
		}
	}
	for _, e := range s.entries {
		if e.Type != "Encounter" {
			continue
		}
		for k := range codesOf(&source{entries: []*Entry{e}, refs: s.refs}, "Encounter") {
			cats := slices.Compact(slices.Sorted(slices.Values(encCodes[k])))
			switch {
			case cat[e.ID] == CatMentalHealth && slices.Equal(cats, []string{CatMentalHealth}) && sensitive == "":
				sensitive, sensCode = e.ID, k
			case slices.Equal(cats, []string{CatGeneral}) && generalCode == "":
				generalCode = k
			}
		}
	}
	if sensitive == "" || generalCode == "" {
		t.Fatalf("no mental-health encounter type of its own (%q) or general one (%q)", sensCode, generalCode)
	}
	found := func(q string) bool {
		t.Helper()
		code, b := f.do(tok, "GET", "/Patient?"+q, nil)
		if code != 200 {
			t.Fatalf("Patient?%s: %d %v", q, code, b)
		}
		got := ids(t, b)
		return slices.Equal(got, []string{s.patient})
	}
	before := deniedReads(t, f, grantee, sensitive)
	if found("_has:Encounter:patient:type="+sensCode) != open {
		t.Fatalf("Patient?_has:Encounter:patient:type=%s (a mental-health encounter) with the mental-health grant %v: found %v", sensCode, open, !open)
	}
	if !found("_has:Encounter:patient:type=" + generalCode) {
		t.Fatalf("Patient?_has:Encounter:patient:type=%s (a general encounter) finds nobody", generalCode)
	}
	if found("_has:Condition:patient:code=http://snomed.info/sct|5602001") {
		t.Fatal("a substance-use condition makes its patient match _has under a grant without that category")
	}
	// A general record in the mental-health encounter: the chain through it.
	var inside *Entry
	for _, e := range s.entries {
		if cat[e.ID] == CatGeneral && refParams[e.Type]["encounter"].path != "" {
			r, _ := Parse(mustMarshalNoT(e.Resource))
			ResolveReferences(r, s.refs)
			if ref, _ := r["encounter"].(Object); ref["reference"] == "Encounter/"+sensitive {
				inside = e
				break
			}
		}
	}
	if inside == nil {
		t.Fatalf("no general record in the mental-health encounter %s", sensitive)
	}
	{
		code, b := f.do(tok, "GET", "/"+inside.Type+"?patient="+s.patient+"&_id="+inside.ID+"&encounter.type="+sensCode, nil)
		if code != 200 || (total(b) == 1) != open {
			t.Fatalf("%s in a mental-health encounter, chained on its type, with the mental-health grant %v: %d total %d", inside.Type, open, code, total(b))
		}
	}
	if !open && deniedReads(t, f, grantee, sensitive) != before {
		t.Fatal("_has or a chain read the mental-health encounter (a denial is on the ledger)")
	}
}
