package fhir

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// TestSearchPatientMatching is the pure core of patient search and chains, one case a
// line: a Patient, a query string, whether it matches (or the status it is refused with).
func TestSearchPatientMatching(t *testing.T) {
	p, err := Parse([]byte(`{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1978-04-03",
		"identifier":[{"system":"http://hl7.org/fhir/sid/us-ssn","value":"999-36-6589"}],
		"name":[{"use":"official","family":"Müller","given":["Angelic","Rose"],"prefix":["Mrs."]},{"use":"maiden","family":"Howe","given":["Angelic"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		q     string
		match bool
		code  int // refused with this status (0: accepted)
	}{
		{"family=Müller", true, 0},
		{"family=muller", true, 0}, // accents and case folded
		{"family=MUL", true, 0},    // starts with
		{"family=ller", false, 0},  // not a prefix
		{"family:contains=ller", true, 0},
		{"family:exact=Müller", true, 0},
		{"family:exact=muller", false, 0},
		{"family=Howe", true, 0}, // any of the names
		{"given=rose", true, 0},
		{"given=Howe", false, 0}, // a family name is not a given name
		{"name=Mrs", true, 0},    // name: every part
		{"name=official", false, 0},
		{"family=Smith,Howe", true, 0}, // OR
		{"family=Howe&given=Bob", false, 0},
		{"gender=female", true, 0},
		{"gender=male", false, 0},
		{"birthdate=1978", true, 0},
		{"birthdate=1978-04-03", true, 0},
		{"birthdate=lt1978-04-03", false, 0},
		{"birthdate=ge1978-04", true, 0},
		{"identifier=http://hl7.org/fhir/sid/us-ssn|999-36-6589", true, 0},
		{"identifier=999-36-6589", true, 0},
		{"identifier=http://example.org|999-36-6589", false, 0},
		{"family:below=M", false, http.StatusBadRequest},
		{"gender:exact=female", false, http.StatusBadRequest},
		{"family=", false, http.StatusBadRequest},
		{"birthdate=1978-13", false, http.StatusBadRequest},
		{"nickname=Angie", false, http.StatusBadRequest},
	} {
		v, _ := url.ParseQuery(c.q)
		q, err := parseQuery("Patient", v)
		if c.code != 0 {
			if he, ok := err.(*httpError); !ok || he.status != c.code {
				t.Errorf("%s: %v, want %d", c.q, err, c.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if got := matchAll(p, q.filters); got != c.match {
			t.Errorf("%s: match %v, want %v", c.q, got, c.match)
		}
		// The same parameter chained from an Observation reads the same filter.
		v2 := url.Values{}
		for k, vs := range v {
			v2["patient."+k] = vs
		}
		q2, err := parseQuery("Observation", v2)
		if err != nil || matchAll(p, q2.chains) != c.match {
			t.Errorf("patient.%s: %v, match %v", c.q, err, c.match)
		}
	}
	for _, k := range []string{"encounter.nosuch", "patient.organization.name", "subject:Group.name", "performer.name", "patient.nickname",
		"encounter.service-provider.nosuch", "encounter:Patient.name", "encounter.service-provider.name.x", "encounter.patient.organization.name"} {
		if _, err := parseQuery("Observation", url.Values{k: {"x"}}); err == nil {
			t.Errorf("chain %s accepted", k)
		}
	}
	// Chains through other references are followed within the patient, link by link.
	for k, want := range map[string][]string{
		"encounter.status":                       {"Encounter"},
		"encounter.service-provider.name":        {"Encounter", "Organization"},
		"encounter:Encounter.participant.family": {"Encounter", "Practitioner"},
		"encounter.patient.family":               {"Encounter", "Patient"},
	} {
		q, err := parseQuery("Observation", url.Values{k: {"x"}})
		if err != nil || len(q.chains) != 0 || len(q.links) != 1 {
			t.Fatalf("%s: %v %+v", k, err, q)
		}
		var got []string
		for _, l := range q.links[0].links {
			got = append(got, l.target)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s follows %v, want %v", k, got, want)
		}
	}
}

// TestSearchReferenceAndTag: encounter takes an id, Type/id or an absolute URL; _tag is
// meta.tag.
func TestSearchReferenceAndTag(t *testing.T) {
	o, _ := Parse([]byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"encounter":{"reference":"Encounter/e1"},
		"meta":{"tag":[{"system":"urn:t","code":"a"}]}}`))
	for q, want := range map[string]bool{"encounter=e1": true, "encounter=Encounter/e1": true, "encounter=http://h/fhir/r4/Encounter/e1": true,
		"encounter=e2": false, "encounter=Patient/e1": false, "encounter:Encounter=e1": true, "_tag=urn:t|a": true, "_tag=a": true, "_tag=urn:u|a": false,
		"status=final": true, "status=amended": false} {
		v, _ := url.ParseQuery(q)
		qq, err := parseQuery("Observation", v)
		if err != nil || matchAll(o, qq.filters) != want {
			t.Errorf("%s: %v, want %v", q, err, want)
		}
	}
}
