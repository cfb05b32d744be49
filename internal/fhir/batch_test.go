package fhir

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/records"
)

// testBatch: a batch Bundle's entries are processed on their own: reads, searches,
// creates, conditional writes, each with its own status, and a failed entry (stale
// If-Match, unknown id, DELETE, no request, an invalid resource) gets its own OperationOutcome while the others
// are written and stay written.
func (f *fixture) testBatch(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[1])
	obs := func(value string) Object {
		return Object{"resourceType": "Observation", "status": "final", "subject": patientRef(s),
			"identifier":        []any{Object{"system": "urn:example:batch", "value": value}},
			"code":              Object{"coding": []any{Object{"system": "http://loinc.org", "code": "8310-5", "display": "Body temperature"}}},
			"effectiveDateTime": "2026-03-04T05:06:07Z",
			"valueQuantity":     Object{"value": json.Number("36.6"), "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"}}
	}
	code, existing := f.do(tok, "POST", "/Observation", obs("existing"))
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, existing)
	}
	id := existing["id"].(string)
	upd := obs("existing")
	upd["id"] = id
	if code, _ := f.do(tok, "PUT", "/Observation/"+id, upd); code != 200 {
		t.Fatalf("update: %d", code)
	}
	stale := obs("existing")
	stale["id"] = id
	stale["status"] = "amended"
	entry := func(method, url string, res Object, extra ...string) Object {
		req := Object{"method": method, "url": url}
		for i := 0; i+1 < len(extra); i += 2 {
			req[extra[i]] = extra[i+1]
		}
		e := Object{"request": req}
		if res != nil {
			e["resource"] = res
		}
		return e
	}
	bundle := Object{"resourceType": "Bundle", "type": "batch", "entry": []any{
		entry("POST", "Observation", obs("new")),
		entry("PUT", "Observation/"+id, stale, "ifMatch", `W/"1"`),
		entry("GET", "Observation/"+id, nil),
		entry("GET", "Observation/00000000000000000000000000000000", nil),
		entry("DELETE", "Observation/"+id, nil),
		entry("GET", "Observation?patient="+s.patient+"&identifier=urn:example:batch|existing", nil),
		entry("POST", "Observation", obs("existing"), "ifNoneExist", "identifier=urn:example:batch|existing"),
		Object{"resource": obs("no request")},
		entry("GET", f.base+"/Patient/"+s.patient+"/$everything?_count=0", nil),
		entry("GET", "Observation?patient="+s.patient+"&nosuch=1", nil),
		entry("POST", "Observation", Object{"resourceType": "Observation", "status": "final", "code": Object{"text": "x"}, "subject": patientRef(s), "colour": "red"}),
		entry("POST", "Observation", obs("after the invalid one")),
	}}
	code, br := f.do(tok, "POST", "", bundle)
	if code != 200 || br["type"] != "batch-response" || len(br["entry"].([]any)) != 12 {
		t.Fatalf("batch: %d %v", code, br)
	}
	resp := func(i int) (string, Object, Object, Object) {
		e := br["entry"].([]any)[i].(Object)
		r := e["response"].(Object)
		res, _ := e["resource"].(Object)
		oo, _ := r["outcome"].(Object)
		return r["status"].(string), r, res, oo
	}
	for i, want := range []string{"201", "412", "200", "404", "405", "200", "200", "400", "200", "400", "400", "201"} {
		st, _, res, oo := resp(i)
		if !strings.HasPrefix(st, want+" ") {
			t.Fatalf("entry %d: %s, want %s (%v)", i, st, want, oo)
		}
		if failed := want >= "400"; failed != (oo != nil && oo["resourceType"] == "OperationOutcome") || (failed && res != nil) {
			t.Fatalf("entry %d (%s): outcome %v resource %v", i, st, oo, res)
		}
	}
	// The create is written, with the Location a POST alone gets, and stays written.
	_, r0, created, _ := resp(0)
	newID := created["id"].(string)
	if r0["location"] != f.base+"/Observation/"+newID+"/_history/1" || r0["etag"] != `W/"1"` || r0["lastModified"] == nil {
		t.Fatalf("create entry: %v", r0)
	}
	if code, got := f.do(tok, "GET", "/Observation/"+newID, nil); code != 200 || got["identifier"].([]any)[0].(Object)["value"] != "new" {
		t.Fatalf("the batch's create was not kept: %d", code)
	}
	// The invalid resource is refused alone, with the validator's finding.
	if _, _, _, oo := resp(10); !strings.Contains(string(mustMarshal(t, oo)), "colour") {
		t.Fatalf("invalid entry: %v", oo)
	}
	// The stale update wrote nothing; the read in the same batch saw version 2.
	if _, head := f.do(tok, "GET", "/Observation/"+id, nil); head["meta"].(Object)["versionId"] != "2" || head["status"] != "final" {
		t.Fatalf("the stale If-Match wrote: %v", head["meta"])
	}
	if _, _, got, _ := resp(2); got["meta"].(Object)["versionId"] != "2" {
		t.Fatalf("read entry: %v", got)
	}
	// The search, the If-None-Exist match (nothing written) and $everything answer as alone.
	if _, _, b, _ := resp(5); b["type"] != "searchset" || total(b) != 1 || ids(t, b)[0] != id {
		t.Fatalf("search entry: %v", b)
	}
	if _, _, got, _ := resp(6); got["id"] != id {
		t.Fatalf("If-None-Exist entry: %v", got)
	}
	if _, b := f.do(tok, "GET", "/Observation?patient="+s.patient+"&identifier=urn:example:batch|existing", nil); total(b) != 1 {
		t.Fatalf("If-None-Exist in a batch wrote a duplicate: %d", total(b))
	}
	if _, _, b, _ := resp(8); b["type"] != "searchset" || total(b) < 2 {
		t.Fatalf("$everything entry: %v", b)
	}
	// A nested Bundle and an unknown Bundle type are refused.
	nested := Object{"resourceType": "Bundle", "type": "batch", "entry": []any{entry("POST", "", Object{"resourceType": "Bundle", "type": "batch"})}}
	if _, b := f.do(tok, "POST", "", nested); !strings.HasPrefix(b["entry"].([]any)[0].(Object)["response"].(Object)["status"].(string), "400") {
		t.Fatalf("nested bundle: %v", b)
	}
	if code, _ := f.do(tok, "POST", "", Object{"resourceType": "Bundle", "type": "collection"}); code != http.StatusBadRequest {
		t.Fatalf("collection posted: %d", code)
	}

	// HL7's example transaction, sent as a batch: ten per-entry answers, each refusal with
	// its reason (Patients are identities here: a named Patient is never written; DELETE is
	// not offered; ValueSet/$lookup is not served), a Patient search that finds no "peter"
	// among the caller's patients, and nothing written.
	raw, err := os.ReadFile(filepath.Join(dataDir(t, "fhir-r4-examples"), "Bundle-bundle-transaction.json"))
	if err != nil {
		t.Fatal(err)
	}
	hl7, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if code, oo := f.do(tok, "POST", "", hl7); code != http.StatusUnprocessableEntity {
		t.Fatalf("the HL7 transaction (DELETE and GET entries) as a transaction: %d %v", code, oo)
	}
	hl7["type"] = "batch"
	height := f.r.Node.View().Height()
	code, br = f.do(tok, "POST", "", hl7)
	if code != 200 || br["type"] != "batch-response" || len(br["entry"].([]any)) != 10 {
		t.Fatalf("HL7 example as a batch: %d %v", code, br)
	}
	for i, want := range []string{"422", "422", "422", "404", "422", "405", "404", "404", "200", "404"} {
		st, _, res, oo := resp(i)
		if i == 8 { // Patient?name=peter: a patient search, among the patients the caller may read
			if !strings.HasPrefix(st, "200 ") || res["type"] != "searchset" || total(res) != 0 {
				t.Errorf("HL7 entry 8: %s %v", st, res)
			}
			continue
		}
		if !strings.HasPrefix(st, want+" ") || oo["resourceType"] != "OperationOutcome" || res != nil {
			t.Errorf("HL7 entry %d: %s (want %s) %v", i, st, want, oo)
		}
	}
	for _, id := range []string{"123", "123a", "234"} {
		if records.ValidID(id) && records.Head(f.r.Node.View(), id) != 0 {
			t.Fatalf("Patient/%s was written (from height %d)", id, height)
		}
	}
}
