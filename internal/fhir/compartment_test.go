package fhir

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// walk follows next links from path to the end and returns the resources of every page in
// order (type/id), failing if a page is larger than count or the links do not end.
func (f *fixture) walk(tok, path string, count int) (refs []string, pages, first int) {
	f.t.Helper()
	for next := path; next != ""; pages++ {
		if pages > 10000 {
			f.t.Fatalf("%s: next links do not end", path)
		}
		code, b := f.do(tok, "GET", next, nil)
		if code != http.StatusOK || b["type"] != "searchset" {
			f.t.Fatalf("%s: %d %v", next, code, b)
		}
		if pages == 0 {
			first = total(b)
		} else if total(b) != first {
			f.t.Fatalf("%s: total changed from %d to %d between pages", next, first, total(b))
		}
		entries, _ := b["entry"].([]any)
		if len(entries) > count {
			f.t.Fatalf("%s: %d entries on a page of %d", next, len(entries), count)
		}
		for _, e := range entries {
			r := e.(Object)["resource"].(Object)
			refs = append(refs, r["resourceType"].(string)+"/"+r["id"].(string))
			if e.(Object)["fullUrl"] != f.base+"/"+refs[len(refs)-1] {
				f.t.Fatalf("fullUrl %v for %s", e.(Object)["fullUrl"], refs[len(refs)-1])
			}
		}
		next = nextLink(b)
	}
	return refs, pages, first
}

// chart is every resource the caller finds by searching each type for the patient.
func (f *fixture) chart(tok, patient string) []string {
	f.t.Helper()
	var out []string
	for _, rt := range Supported {
		code, b := f.do(tok, "GET", "/"+rt+"?patient="+patient+"&_count=1000", nil)
		if code == http.StatusOK {
			for _, id := range ids(f.t.(*testing.T), b) {
				out = append(out, rt+"/"+id)
			}
		}
	}
	return out
}

func reads(t *testing.T, f *fixture, actor *keys.Keystore, outcome string) int {
	t.Helper()
	n := 0
	for cur := ""; ; {
		p, err := f.r.Client.AuditQuery(context.Background(), f.cast.Auditor, audit.Filter{Actor: actor.ID, Action: "record.read", Outcome: outcome, Cursor: cur, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Events)
		if cur = p.Next; cur == "" {
			return n
		}
	}
}

// testCompartment: Patient/{id}/$everything returns the patient's chart, the Patient
// first, paged to the end, each resource returned one audited read and no other read;
// Patient/{id}/{type} is the type's search within the patient.
func (f *fixture) testCompartment(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[0])
	want := f.chart(tok, s.patient)
	if len(want) < 100 || !slices.Contains(want, "Patient/"+s.patient) {
		t.Fatalf("the chart has %d resources", len(want))
	}

	before := reads(t, f, f.cast.Provider, "success")
	got, pages, tot := f.walk(tok, "/Patient/"+s.patient+"/$everything?_count=40", 40)
	if after := reads(t, f, f.cast.Provider, "success"); after-before != len(want) {
		t.Fatalf("$everything returned %d resources in %d audited reads", len(want), after-before)
	}
	if got[0] != "Patient/"+s.patient || tot != len(want) || pages != (len(want)+39)/40 {
		t.Fatalf("$everything: first %s, total %d in %d pages, the chart has %d", got[0], tot, pages, len(want))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("$everything differs from the chart: %d vs %d resources", len(got), len(want))
	}

	// _count=0 is the total alone, with no next link; _type narrows.
	before = reads(t, f, f.cast.Provider, "success")
	code, b := f.do(tok, "GET", "/Patient/"+s.patient+"/$everything?_count=0", nil)
	if code != 200 || total(b) != len(want) || b["entry"] != nil || nextLink(b) != "" {
		t.Fatalf("_count=0: %d total %d next %q", code, total(b), nextLink(b))
	}
	if after := reads(t, f, f.cast.Provider, "success"); after != before {
		t.Fatalf("_count=0 read %d resources", after-before)
	}
	typed, _, _ := f.walk(tok, "/Patient/"+s.patient+"/$everything?_type=Condition,Immunization&_count=1000", 1000)
	var wantTyped []string
	for _, r := range want {
		if strings.HasPrefix(r, "Condition/") || strings.HasPrefix(r, "Immunization/") {
			wantTyped = append(wantTyped, r)
		}
	}
	if !slices.Equal(typed, wantTyped) { // by type, then id: the sorted order
		t.Fatalf("_type: %v, want %v", typed, wantTyped)
	}
	for _, q := range []string{"_type=Medication", "start=2020", "_since=2020", "_count=-1"} {
		if code, _ := f.do(tok, "GET", "/Patient/"+s.patient+"/$everything?"+q, nil); code != http.StatusBadRequest {
			t.Fatalf("$everything?%s: %d", q, code)
		}
	}
	if code, _ := f.do(tok, "GET", "/Patient/"+s.patient+"/$export", nil); code != http.StatusNotFound {
		t.Fatalf("$export: %d", code)
	}
	if code, _ := f.do(tok, "GET", "/Observation/"+s.patient+"/$everything", nil); code != http.StatusNotFound {
		t.Fatalf("$everything on Observation: %d", code)
	}

	// A provider with no grant gets the ledger's audited denial, and nothing.
	other := f.otherProvider(t)
	f.gw.Unlock(other)
	otok := f.token(other)
	denied := reads(t, f, other, "denied")
	if code, b := f.do(otok, "GET", "/Patient/"+s.patient+"/$everything", nil); code != http.StatusForbidden {
		t.Fatalf("$everything without a grant: %d %v", code, b)
	}
	if code, _ := f.do(otok, "GET", "/Patient/"+s.patient+"/Observation", nil); code != http.StatusForbidden {
		t.Fatalf("compartment search without a grant: %d", code)
	}
	if n, err := f.r.Client.AuditQuery(context.Background(), f.cast.Auditor, audit.Filter{Actor: other.ID, Outcome: "denied", Limit: 1000}); err != nil || len(n.Events) < 2 {
		t.Fatalf("the denials are not audited: %v %v (reads denied before: %d)", err, n, denied)
	}

	// The compartment search is the type's search within the patient.
	q := "code=http://loinc.org|8302-2&_sort=date"
	_, direct := f.do(tok, "GET", "/Observation?patient="+s.patient+"&"+q, nil)
	code, comp := f.do(tok, "GET", "/Patient/"+s.patient+"/Observation?"+q, nil)
	if code != 200 || total(comp) != 10 || !slices.Equal(ids(t, comp), ids(t, direct)) {
		t.Fatalf("compartment search: %d %v, want %v", code, ids(t, comp), ids(t, direct))
	}
	heights, _, _ := f.walk(tok, "/Patient/"+s.patient+"/Observation?"+q+"&_count=3", 3)
	if len(heights) != 10 {
		t.Fatalf("compartment search paged: %v", heights)
	}
	for path, want := range map[string]int{
		"/Patient/" + s.patient + "/Observation?patient=Patient/" + f.source(f.files[1]).patient: http.StatusBadRequest,
		"/Patient/" + s.patient + "/Consent":                                                     http.StatusNotFound,
		"/Patient/" + s.patient + "/Medication":                                                  http.StatusNotFound,
		"/Patient/" + s.patient + "/Observation?foo=1":                                           http.StatusBadRequest,
	} {
		if code, _ := f.do(tok, "GET", path, nil); code != want {
			t.Fatalf("%s: %d, want %d", path, code, want)
		}
	}
}
