package fhir

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
)

// TestPatientSearch runs the integrator stories beyond one known patient id on a node
// holding three imported patients: Abdul Koepp (born 1956-08-03), Alexia Senger
// (1958-03-14) and Angelic Mueller (1978-04-03, maiden name Howe). The importing provider
// may read all three; a provider of another organization is granted Alexia's general
// records only.
func TestPatientSearch(t *testing.T) {
	f := newFixture(t, syntheaFiles(t)[:3])
	other := f.otherProvider(t)
	f.gw.Unlock(other)
	alexia := f.source(f.files[1])
	ptok := f.login(PatientKeystoreName(sourceOf(alexia).SourceID), f.im.Passphrase)
	grant := f.grantCategories(ptok, alexia.patient, other.ID, CatGeneral)
	t.Run("patient", func(t *testing.T) { f.testFindPatient(t, other) })
	t.Run("chain", func(t *testing.T) { f.testChain(t, other) })
	t.Run("include-iterate", f.testIncludeIterate)
	t.Run("us-core", f.testUSCore)
	t.Run("transaction-if-none-exist", f.testTransactionIfNoneExist)
	t.Run("history", func(t *testing.T) { f.testTypeHistory(t, other) })
	t.Run("npm-client", f.testNpmIntegrator)
	t.Run("has", func(t *testing.T) { f.testHas(t, other) })
	t.Run("chain-links", f.testChainLinks)
	t.Run("reader-index", f.testReaderIndex)
	t.Run("revoked", func(t *testing.T) { f.testRevokedNotFound(t, other, ptok, grant) })
}

// testRevokedNotFound: once Alexia revokes the other provider's grant, her Patient, still
// in the gateway's index, is found by no search of theirs, chained or not, and her
// records leave their history.
func (f *fixture) testRevokedNotFound(t *testing.T, other *keys.Keystore, ptok, grant string) {
	f = f.sub(t)
	otok := f.token(other)
	if code, _ := f.do(otok, "GET", "/Patient?family=Senger", nil); code != 200 {
		t.Fatalf("before the revocation: %d", code)
	}
	if code, b := f.do(ptok, "DELETE", "/Consent/"+grant, nil); code != 200 && code != http.StatusNoContent {
		t.Fatalf("revoke: %d %v", code, b)
	}
	for _, q := range []string{"/Patient?family=Senger", "/Patient?gender=female", "/Observation?patient.family=Senger", "/Immunization/_history", "/_history"} {
		if code, b := f.do(otok, "GET", q, nil); code != 200 || total(b) != 0 || b["entry"] != nil {
			t.Errorf("%s after the revocation: %d %v", q, code, b)
		}
	}
}

// recordReads counts the audited reads of one record by actor with the outcome.
func recordReads(t *testing.T, f *fixture, actor *keys.Keystore, record, outcome string) int {
	t.Helper()
	n := 0
	for cur := ""; ; {
		p, err := f.r.Client.AuditQuery(context.Background(), f.cast.Auditor, audit.Filter{Actor: actor.ID, Action: "record.read", Outcome: outcome, Cursor: cur, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range p.Events {
			if ev.Record == record {
				n++
			}
		}
		if cur = p.Next; cur == "" {
			return n
		}
	}
}

// testFindPatient: Patient search by family, name, given, birthdate, gender and identifier
// finds exactly the patients the caller may read; each match is an audited read; a patient
// outside the caller's grants is neither found, counted nor read; nothing of the search
// reaches the node's home.
func (f *fixture) testFindPatient(t *testing.T, other *keys.Keystore) {
	f = f.sub(t)
	tok, otok := f.token(f.cast.Provider), f.token(other)
	abdul, alexia, angelic := f.source(f.files[0]).patient, f.source(f.files[1]).patient, f.source(f.files[2]).patient
	find := func(tok, q string) []string {
		t.Helper()
		code, b := f.do(tok, "GET", "/Patient?"+q, nil)
		if code != 200 || total(b) != len(ids(t, b)) {
			t.Fatalf("Patient?%s: %d %v", q, code, b)
		}
		got := ids(t, b)
		slices.Sort(got)
		return got
	}
	sorted := func(ss ...string) []string { slices.Sort(ss); return ss }

	// The provider who registered all three finds each by its demographics.
	for q, want := range map[string][]string{
		"family=Koepp&birthdate=1956-08-03": {abdul},
		"family=koe":                        {abdul},   // starts with, any case
		"family:exact=koe":                  nil,       // exact
		"family:exact=Koepp":                {abdul},   //
		"family:contains=epp":               {abdul},   //
		"name=Abdul":                        {abdul},   // given, through name
		"given=Alexia":                      {alexia},  //
		"name=Howe":                         {angelic}, // the maiden name
		"family=Howe&given=Angelic":         {angelic}, //
		"birthdate=ge1958":                  sorted(alexia, angelic),
		"birthdate=1956":                    {abdul},
		"gender=female":                     sorted(alexia, angelic),
		"gender=female&birthdate=lt1960":    {alexia},
		"family=Koepp,Senger":               sorted(abdul, alexia),
		"identifier=http://hl7.org/fhir/sid/us-ssn|999-22-1962": {abdul},
		"identifier=999-55-2827":                                {alexia},
		"family=Nosuch":                                         nil,
		"family=Koepp&birthdate=1956-08-04":                     nil,
	} {
		if got := find(tok, q); !slices.Equal(got, want) {
			t.Errorf("Patient?%s: %v, want %v", q, got, want)
		}
	}
	// A match is the Patient as read, and one audited read of it (the index is warm now).
	before := recordReads(t, f, f.cast.Provider, abdul, "success")
	_, b := f.do(tok, "GET", "/Patient?family=Koepp&birthdate=1956-08-03", nil)
	if recordReads(t, f, f.cast.Provider, abdul, "success") != before+1 {
		t.Fatalf("a patient search match is not one audited read")
	}
	if _, direct := f.do(tok, "GET", "/Patient/"+abdul, nil); !equalJSON(t, b["entry"].([]any)[0].(Object)["resource"], direct) {
		t.Fatalf("the match differs from the read of Patient/%s", abdul)
	}
	// Only the page is read: one of the two women.
	before = reads(t, f, f.cast.Provider, "success")
	if _, b := f.do(tok, "GET", "/Patient?gender=female&_count=1", nil); total(b) != 2 || len(ids(t, b)) != 1 || nextLink(b) == "" {
		t.Fatalf("a page of one of two: %v", b)
	}
	if n := reads(t, f, f.cast.Provider, "success") - before; n != 1 {
		t.Fatalf("a page of one patient made %d audited reads", n)
	}
	// Patients that do not match are not read again.
	for _, p := range []string{alexia, angelic} {
		n := recordReads(t, f, f.cast.Provider, p, "success")
		find(tok, "family=Koepp")
		if recordReads(t, f, f.cast.Provider, p, "success") != n {
			t.Fatalf("a search for Koepp read Patient/%s", p)
		}
	}

	// The other provider, granted Alexia's general records only, finds Alexia and nobody
	// else, not even in total, and reads nobody else.
	for q, want := range map[string][]string{
		"family=Koepp":           nil,
		"family=Senger":          {alexia},
		"gender=female":          {alexia},
		"birthdate=ge1900":       {alexia},
		"name=Howe":              nil,
		"identifier=999-22-1962": nil,
	} {
		if got := find(otok, q); !slices.Equal(got, want) {
			t.Errorf("other provider, Patient?%s: %v, want %v", q, got, want)
		}
	}
	for _, p := range []string{abdul, angelic} {
		if n := recordReads(t, f, other, p, "success") + recordReads(t, f, other, p, "denied"); n != 0 {
			t.Fatalf("the ungranted provider's searches touched Patient/%s: %d audited reads", p, n)
		}
	}
	if recordReads(t, f, other, alexia, "success") == 0 {
		t.Fatal("the granted match is not an audited read")
	}
	// A search across patients under break-glass is refused.
	code, _, body := f.raw(otok, "GET", "/Patient?family=Koepp", nil, map[string]string{"X-Purpose-Of-Use": "emergency"})
	if code != http.StatusForbidden || !strings.Contains(string(body), "emergency") {
		t.Fatalf("emergency patient search: %d %s", code, body)
	}
	for _, q := range []string{"foo=1", "family:below=Ko", "gender:text=female", "birthdate=1956-13", "family="} {
		if code, _ := f.do(tok, "GET", "/Patient?"+q, nil); code != http.StatusBadRequest {
			t.Fatalf("Patient?%s: %d", q, code)
		}
	}
	// A new version of a Patient is what is found: the old family name no more.
	_, pat := f.do(tok, "GET", "/Patient/"+angelic, nil)
	pat["name"].([]any)[0].(Object)["family"] = "Stone"
	if code, b := f.do(tok, "PUT", "/Patient/"+angelic, pat); code != 200 {
		t.Fatalf("rename: %d %v", code, b)
	}
	if got := find(tok, "family=Mueller"); got != nil {
		t.Fatalf("the old name still finds %v", got)
	}
	if got := find(tok, "family=Stone"); !slices.Equal(got, []string{angelic}) {
		t.Fatalf("the new name finds %v", got)
	}
	// The names searched for are nowhere in the node's home (state, blocks, logs).
	for _, name := range []string{"Koepp", "Senger", "Howe", "999-22-1962"} {
		filepath.Walk(f.r.Node.Paths.Home, func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return nil
			}
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(name)) {
				t.Errorf("%s holds %q", p, name)
			}
			return nil
		})
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	return bytes.Equal(mustMarshal(t, a), mustMarshal(t, b))
}

// testChain: a chained search on the patient is the search within each patient the chain
// finds, among the patients the caller may read.
func (f *fixture) testChain(t *testing.T, other *keys.Keystore) {
	f = f.sub(t)
	tok, otok := f.token(f.cast.Provider), f.token(other)
	abdul, alexia, angelic := f.source(f.files[0]).patient, f.source(f.files[1]).patient, f.source(f.files[2]).patient
	heights := "code=http://loinc.org|8302-2"
	direct := func(tok, patient string) []string {
		t.Helper()
		_, b := f.do(tok, "GET", "/Observation?patient="+patient+"&"+heights+"&_count=1000", nil)
		return ids(t, b)
	}
	for q, want := range map[string][]string{
		"patient.family=Koepp":                   direct(tok, abdul),
		"subject:Patient.name=Abdul":             direct(tok, abdul),
		"subject.given=abd":                      direct(tok, abdul),
		"patient.identifier=999-22-1962":         direct(tok, abdul),
		"patient.birthdate=ge1958":               append(direct(tok, alexia), direct(tok, angelic)...),
		"patient.family=Koepp&patient=" + alexia: nil,
		"patient.family=Koepp&patient=" + abdul:  direct(tok, abdul),
		"patient.family=Nosuch":                  nil,
	} {
		code, b := f.do(tok, "GET", "/Observation?"+q+"&"+heights+"&_count=1000", nil)
		got := ids(t, b)
		slices.Sort(got)
		slices.Sort(want)
		if code != 200 || total(b) != len(want) || !slices.Equal(got, want) {
			t.Errorf("Observation?%s: %d %d matches, want %d", q, code, total(b), len(want))
		}
	}
	if len(direct(tok, abdul)) != 10 {
		t.Fatalf("Abdul has %d heights", len(direct(tok, abdul)))
	}
	// Paged, the chain's pages hold each match once.
	seen, _, _ := f.walk(tok, "/Observation?patient.birthdate=ge1900&"+heights+"&_count=7", 7)
	all := append(append(direct(tok, abdul), direct(tok, alexia)...), direct(tok, angelic)...)
	if len(seen) != len(all) || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != len(all) {
		t.Fatalf("chained search paged: %d entries, want %d", len(seen), len(all))
	}
	// The other provider: the chain finds only Alexia, and a chain to an ungranted
	// patient finds nothing (no denial either: nobody was read).
	if code, b := f.do(otok, "GET", "/Observation?patient.family=Koepp&"+heights, nil); code != 200 || total(b) != 0 {
		t.Fatalf("chain to an ungranted patient: %d %v", code, b)
	}
	if code, b := f.do(otok, "GET", "/Observation?patient.gender=female&"+heights+"&_count=1000", nil); code != 200 || !slices.Equal(ids(t, b), direct(otok, alexia)) {
		t.Fatalf("chain for the other provider: %d %v, want %v", code, ids(t, b), direct(otok, alexia))
	}
	for _, q := range []string{"encounter.nosuch=finished", "patient.organization.name=x", "patient:Practitioner.name=x", "patient.nosuch=x", "performer.name=x"} {
		if code, _ := f.do(tok, "GET", "/Observation?"+q, nil); code != http.StatusBadRequest {
			t.Fatalf("Observation?%s: %d", q, code)
		}
	}
}

// testIncludeIterate: _include:iterate follows the references of what was included, and
// _revinclude:iterate finds what points at it.
func (f *fixture) testIncludeIterate(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[0])
	q := "/Observation?patient=" + s.patient + "&code=http://loinc.org|8302-2&_sort=date&_count=3&_include=Observation:encounter"
	_, b := f.do(tok, "GET", q, nil)
	encs := modes(t, b)["include"]
	if len(encs) == 0 || slices.ContainsFunc(encs, func(r string) bool { return !strings.HasPrefix(r, "Encounter/") }) {
		t.Fatalf("_include=Observation:encounter: %v", encs)
	}
	_, b = f.do(tok, "GET", q+"&_include:iterate=Encounter:patient", nil)
	m := modes(t, b)
	want := append(slices.Clone(encs), "Patient/"+s.patient)
	if len(m["match"]) != 3 || !slices.Equal(slices.Sorted(slices.Values(m["include"])), slices.Sorted(slices.Values(want))) {
		t.Fatalf("_include:iterate=Encounter:patient: %v, want %v", m, want)
	}
	// Encounter -> its Patient -> the Patient's Immunizations.
	enc := strings.TrimPrefix(encs[0], "Encounter/")
	var imms []string
	for _, e := range s.entries {
		if e.Type == "Immunization" {
			imms = append(imms, "Immunization/"+e.ID)
		}
	}
	_, b = f.do(tok, "GET", "/Encounter?patient="+s.patient+"&_id="+enc+"&_include=Encounter:patient&_revinclude:iterate=Immunization:patient", nil)
	m = modes(t, b)
	want = append(slices.Clone(imms), "Patient/"+s.patient)
	if len(imms) == 0 || !slices.Equal(m["match"], []string{encs[0]}) || !slices.Equal(slices.Sorted(slices.Values(m["include"])), slices.Sorted(slices.Values(want))) {
		t.Fatalf("_revinclude:iterate=Immunization:patient: %v, want %v", m, want)
	}
	// Without :iterate, the source of an _include must be the searched type.
	if code, _ := f.do(tok, "GET", q+"&_include=Encounter:patient", nil); code != http.StatusBadRequest {
		t.Fatalf("_include=Encounter:patient on Observation: %d", code)
	}
}

// testUSCore: status, clinical-status, verification-status, category, encounter and _tag
// find what the source bundle holds, and the CapabilityStatement lists them.
func (f *fixture) testUSCore(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[0])
	p := "patient=" + s.patient
	count := func(rt string, keep func(o Object) bool) int {
		n := 0
		for _, e := range s.entries {
			if e.Type == rt {
				o, _ := Parse(mustMarshal(t, e.Resource))
				ResolveReferences(o, s.refs)
				if keep(o) {
					n++
				}
			}
		}
		return n
	}
	codeOf := func(o Object, k string) string {
		cc, _ := o[k].(Object)
		cs, _ := cc["coding"].([]any)
		if len(cs) == 0 {
			return ""
		}
		c, _ := cs[0].(Object)["code"].(string)
		return c
	}
	var enc string // the encounter of the first Observation
	for _, e := range s.entries {
		if e.Type == "Observation" {
			o, _ := Parse(mustMarshal(t, e.Resource))
			ResolveReferences(o, s.refs)
			enc = strings.TrimPrefix(o["encounter"].(Object)["reference"].(string), "Encounter/")
			break
		}
	}
	onEnc := func(o Object) bool { r, _ := o["encounter"].(Object); return r["reference"] == "Encounter/"+enc }
	for q, want := range map[string]int{
		"Condition?clinical-status=active":   count("Condition", func(o Object) bool { return codeOf(o, "clinicalStatus") == "active" }),
		"Condition?clinical-status=resolved": count("Condition", func(o Object) bool { return codeOf(o, "clinicalStatus") == "resolved" }),
		"Condition?clinical-status=http://terminology.hl7.org/CodeSystem/condition-clinical|resolved": count("Condition", func(o Object) bool { return codeOf(o, "clinicalStatus") == "resolved" }),
		"Condition?verification-status=confirmed":                                                     count("Condition", func(o Object) bool { return codeOf(o, "verificationStatus") == "confirmed" }),
		"Condition?category=encounter-diagnosis": count("Condition", func(o Object) bool {
			cs, _ := o["category"].([]any)
			return len(cs) > 0 && codeOf(Object{"c": cs[0]}, "c") == "encounter-diagnosis"
		}),
		"Condition?encounter=" + enc:              count("Condition", onEnc),
		"Observation?encounter=Encounter/" + enc:  count("Observation", onEnc),
		"Observation?status=final":                count("Observation", func(o Object) bool { return o["status"] == "final" }),
		"Observation?status=amended":              0,
		"Encounter?status=finished":               count("Encounter", func(o Object) bool { return o["status"] == "finished" }),
		"Procedure?status=completed":              count("Procedure", func(o Object) bool { return o["status"] == "completed" }),
		"MedicationRequest?status=stopped,active": count("MedicationRequest", func(o Object) bool { return o["status"] == "stopped" || o["status"] == "active" }),
		"Immunization?status=completed":           count("Immunization", func(o Object) bool { return o["status"] == "completed" }),
	} {
		rt, rest, _ := strings.Cut(q, "?")
		code, b := f.do(tok, "GET", "/"+rt+"?"+p+"&"+rest+"&_count=0", nil)
		if code != 200 || total(b) != want {
			t.Errorf("%s: %d total %d, want %d", q, code, total(b), want)
		}
	}
	if count("Condition", func(o Object) bool { return codeOf(o, "clinicalStatus") == "resolved" }) == 0 || count("Observation", onEnc) == 0 {
		t.Fatal("the source bundle has no resolved condition or no observation of its first encounter")
	}
	// _tag matches meta.tag.
	obs := Object{"resourceType": "Observation", "status": "final", "subject": patientRef(s), "code": Object{"text": "tagged"},
		"meta": Object{"tag": []any{Object{"system": "urn:example:tag", "code": "study-7"}}}}
	code, created := f.do(tok, "POST", "/Observation", obs)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	for q, want := range map[string][]string{"_tag=urn:example:tag|study-7": {created["id"].(string)}, "_tag=study-7": {created["id"].(string)}, "_tag=urn:example:tag|study-8": nil} {
		if _, b := f.do(tok, "GET", "/Observation?"+p+"&"+q, nil); !slices.Equal(ids(t, b), want) {
			t.Errorf("%s: %v, want %v", q, ids(t, b), want)
		}
	}
	for _, q := range []string{"Condition?clinical-status:text=active", "Condition?encounter:Patient=x", "Observation?status=", "Condition?severity=mild"} {
		rt, rest, _ := strings.Cut(q, "?")
		if code, _ := f.do(tok, "GET", "/"+rt+"?"+p+"&"+rest, nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d", q, code)
		}
	}
	// The CapabilityStatement lists them.
	_, cs := f.do("", "GET", "/metadata", nil)
	for _, res := range cs["rest"].([]any)[0].(Object)["resource"].([]any) {
		ro := res.(Object)
		var names []string
		for _, sp := range ro["searchParam"].([]any) {
			names = append(names, sp.(Object)["name"].(string))
		}
		need := map[string][]string{"Condition": {"clinical-status", "verification-status", "category", "encounter", "_tag", "code"},
			"Observation": {"status", "category", "encounter", "_tag"}, "Patient": {"name", "family", "given", "birthdate", "gender", "identifier"}}[ro["type"].(string)]
		for _, n := range need {
			if !slices.Contains(names, n) {
				t.Errorf("%s does not list %s: %v", ro["type"], n, names)
			}
		}
	}
}

// testTransactionIfNoneExist: a transaction entry with request.ifNoneExist that matches one
// resource answers 200 with its location, writes nothing for it and resolves the other
// entries' references to it; two matches fail the transaction with 412 and nothing is
// written.
func (f *fixture) testTransactionIfNoneExist(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[0])
	encounter := Object{"resourceType": "Encounter", "status": "finished", "subject": patientRef(s),
		"identifier": []any{Object{"system": "urn:example:visit", "value": "v-1"}},
		"class":      Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}}
	tx := func(value string) []byte {
		return mustMarshal(t, Object{"resourceType": "Bundle", "type": "transaction", "entry": []any{
			Object{"fullUrl": "urn:uuid:0b7b3c1e-0000-4000-8000-0000000000a1", "resource": encounter,
				"request": Object{"method": "POST", "url": "Encounter", "ifNoneExist": "identifier=urn:example:visit|v-1"}},
			Object{"fullUrl": "urn:uuid:0b7b3c1e-0000-4000-8000-0000000000a2", "request": Object{"method": "POST", "url": "Observation"},
				"resource": Object{"resourceType": "Observation", "status": "final", "subject": patientRef(s), "code": Object{"coding": []any{Object{"system": "urn:example:test", "code": "tx-if-none-exist"}}},
					"valueString": value, "encounter": Object{"reference": "urn:uuid:0b7b3c1e-0000-4000-8000-0000000000a1"}}}}})
	}
	visits := func() []string {
		_, b := f.do(tok, "GET", "/Encounter?patient="+s.patient+"&identifier=urn:example:visit|v-1", nil)
		return ids(t, b)
	}
	observations := func() []Object {
		_, b := f.do(tok, "GET", "/Observation?patient="+s.patient+"&code=tx-if-none-exist&_count=1000", nil)
		var out []Object
		for _, e := range b["entry"].([]any) {
			out = append(out, e.(Object)["resource"].(Object))
		}
		return out
	}
	response := func(b []byte, i int) Object {
		o, _ := Parse(b)
		return o["entry"].([]any)[i].(Object)["response"].(Object)
	}
	code, _, b := f.raw(tok, "POST", "", tx("first"), nil)
	if code != 200 || !strings.HasPrefix(response(b, 0)["status"].(string), "201") || len(visits()) != 1 {
		t.Fatalf("first transaction: %d %s", code, b)
	}
	visit := visits()[0]
	// The same transaction again: the Encounter exists, so its entry answers 200 with its
	// location, and the new Observation points at it.
	code, _, b = f.raw(tok, "POST", "", tx("second"), nil)
	r0 := response(b, 0)
	if code != 200 || !strings.HasPrefix(r0["status"].(string), "200") || r0["location"] != f.base+"/Encounter/"+visit+"/_history/1" || r0["etag"] != `W/"1"` {
		t.Fatalf("transaction with an existing match: %d %s", code, b)
	}
	if got := visits(); !slices.Equal(got, []string{visit}) {
		t.Fatalf("the conditional create in a transaction wrote a duplicate: %v", got)
	}
	if v := records.Head(f.r.Node.View(), visit); v != 1 {
		t.Fatalf("the existing Encounter was written again: version %d", v)
	}
	obs := observations()
	if len(obs) != 2 {
		t.Fatalf("%d observations, want 2", len(obs))
	}
	for _, o := range obs {
		if o["encounter"].(Object)["reference"] != "Encounter/"+visit {
			t.Fatalf("the observation's encounter is %v, want Encounter/%s", o["encounter"], visit)
		}
	}
	// A second Encounter with the identifier: two matches fail the whole transaction.
	if code, e := f.do(tok, "POST", "/Encounter", encounter); code != http.StatusCreated {
		t.Fatalf("second encounter: %d %v", code, e)
	}
	code, _, b = f.raw(tok, "POST", "", tx("third"), nil)
	if oo, _ := Parse(b); code != http.StatusPreconditionFailed || oo["resourceType"] != "OperationOutcome" || !strings.Contains(string(b), "entry[0]") {
		t.Fatalf("transaction with two matches: %d %s", code, b)
	}
	if n := len(observations()); n != 2 {
		t.Fatalf("the refused transaction wrote: %d observations", n)
	}
	// ifNoneExist is for POST entries.
	put := mustMarshal(t, Object{"resourceType": "Bundle", "type": "transaction", "entry": []any{Object{"fullUrl": "urn:uuid:0b7b3c1e-0000-4000-8000-0000000000a3",
		"resource": encounter, "request": Object{"method": "PUT", "url": "Encounter/" + visit, "ifNoneExist": "identifier=urn:example:visit|v-1"}}}})
	if code, _, b := f.raw(tok, "POST", "", put, nil); code != http.StatusBadRequest {
		t.Fatalf("ifNoneExist on PUT: %d %s", code, b)
	}
}

// historyWalk follows a history's next links to the end, checking each page.
func (f *fixture) historyWalk(t *testing.T, tok, path string, count int) (entries []Object, first int) {
	t.Helper()
	for next, pages := path, 0; next != ""; pages++ {
		if pages > 10000 {
			t.Fatalf("%s: next links do not end", path)
		}
		code, b := f.do(tok, "GET", next, nil)
		if code != 200 || b["type"] != "history" {
			t.Fatalf("%s: %d %v", next, code, b)
		}
		if pages == 0 {
			first = total(b)
		}
		es, _ := b["entry"].([]any)
		if len(es) > count {
			t.Fatalf("%d entries on a page of %d", len(es), count)
		}
		for _, e := range es {
			entries = append(entries, e.(Object))
		}
		next = nextLink(b)
	}
	return entries, first
}

func historyKey(e Object) string {
	return e["request"].(Object)["url"].(string) + "/" + e["response"].(Object)["etag"].(string)
}

// testTypeHistory: type and system _history list the versions of what the caller may read,
// newest first, paged by next links to the end, _since bounds them; every wrong use gets
// an OperationOutcome that says what to do.
func (f *fixture) testTypeHistory(t *testing.T, other *keys.Keystore) {
	f = f.sub(t)
	tok, otok := f.token(f.cast.Provider), f.token(other)
	abdul, alexia := f.source(f.files[0]), f.source(f.files[1])
	var imms []string
	for _, file := range f.files {
		for _, e := range f.source(file).entries {
			if e.Type == "Immunization" {
				imms = append(imms, e.ID)
			}
		}
	}
	// Update one of Abdul's immunizations: its two versions are both in the history.
	var imm string
	for _, e := range abdul.entries {
		if e.Type == "Immunization" {
			imm = e.ID
		}
	}
	_, cur := f.do(tok, "GET", "/Immunization/"+imm, nil)
	cur["status"] = "entered-in-error"
	if code, b := f.do(tok, "PUT", "/Immunization/"+imm, cur); code != 200 {
		t.Fatalf("update: %d %v", code, b)
	}
	es, first := f.historyWalk(t, tok, "/Immunization/_history?_count=7", 7)
	if first != len(imms)+1 || len(es) != first {
		t.Fatalf("Immunization/_history: total %d, %d entries, want %d", first, len(es), len(imms)+1)
	}
	distinct := map[string]bool{}
	for i, e := range es {
		distinct[historyKey(e)] = true
		lm := e["response"].(Object)["lastModified"].(string)
		if i > 0 && lm > es[i-1]["response"].(Object)["lastModified"].(string) {
			t.Fatalf("history not newest first at %d", i)
		}
		r := e["resource"].(Object)
		if r["resourceType"] != "Immunization" || e["fullUrl"] != f.base+"/Immunization/"+r["id"].(string) || `W/"`+r["meta"].(Object)["versionId"].(string)+`"` != e["response"].(Object)["etag"] {
			t.Fatalf("history entry %d: %v", i, e)
		}
	}
	if len(distinct) != len(es) || historyKey(es[0]) != "Immunization/"+imm+`/W/"2"` || !distinct["Immunization/"+imm+`/W/"1"`] {
		t.Fatalf("history: %d distinct of %d; first %s", len(distinct), len(es), historyKey(es[0]))
	}
	if es[0]["request"].(Object)["method"] != "PUT" || es[len(es)-1]["request"].(Object)["method"] != "POST" {
		t.Fatalf("history methods: %v ... %v", es[0]["request"], es[len(es)-1]["request"])
	}
	// _since: the versions at or after the instant.
	since := es[0]["response"].(Object)["lastModified"].(string)
	recent, _ := f.historyWalk(t, tok, "/Immunization/_history?_since="+url.QueryEscape(since), 50)
	if len(recent) == 0 || historyKey(recent[0]) != historyKey(es[0]) {
		t.Fatalf("_since=%s: %d entries", since, len(recent))
	}
	for _, e := range recent {
		if e["response"].(Object)["lastModified"].(string) < since {
			t.Fatalf("_since=%s listed a version of %v", since, e["response"])
		}
	}
	if _, b := f.do(tok, "GET", "/Immunization/_history?_since=2999-01-01T00:00:00Z", nil); total(b) != 0 {
		t.Fatalf("_since in the future: %d", total(b))
	}
	// A page is one audited read per record on it.
	before := reads(t, f, f.cast.Provider, "success")
	_, page := f.do(tok, "GET", "/Immunization/_history?_count=5", nil)
	onPage := map[string]bool{}
	for _, e := range page["entry"].([]any) {
		onPage[e.(Object)["request"].(Object)["url"].(string)] = true
	}
	if n := reads(t, f, f.cast.Provider, "success") - before; len(page["entry"].([]any)) != 5 || n != len(onPage) {
		t.Fatalf("a history page of 5 versions of %d records made %d audited reads", len(onPage), n)
	}
	// The other provider sees the history of Alexia's general records only.
	oes, _ := f.historyWalk(t, otok, "/Immunization/_history", 50)
	var alexiaImms []string
	for _, e := range alexia.entries {
		if e.Type == "Immunization" {
			alexiaImms = append(alexiaImms, "Immunization/"+e.ID)
		}
	}
	var got []string
	for _, e := range oes {
		got = append(got, e["request"].(Object)["url"].(string))
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(alexiaImms))) {
		t.Fatalf("other provider's Immunization history: %v, want %v", got, alexiaImms)
	}
	// System history: every version of every record the other provider may read.
	chart := f.chart(otok, alexia.patient)
	sys, total0 := f.historyWalk(t, otok, "/_history?_count=200", 200)
	var sysRefs []string
	for _, e := range sys {
		sysRefs = append(sysRefs, e["request"].(Object)["url"].(string))
	}
	if total0 != len(chart) || !slices.Equal(slices.Sorted(slices.Values(sysRefs)), slices.Sorted(slices.Values(chart))) {
		t.Fatalf("system history of the other provider: %d entries, the chart has %d", total0, len(chart))
	}
	// Wrong uses.
	for path, want := range map[string]int{
		"/Observation/_history?code=8302-2": http.StatusBadRequest,
		"/_history?_at=2020":                http.StatusBadRequest,
		"/_history?_since=2020":             http.StatusBadRequest,
		"/_history?_count=-1":               http.StatusBadRequest,
		"/_history?_cursor=garbage":         http.StatusBadRequest,
		"/Consent/_history":                 http.StatusNotFound,
		"/AuditEvent/_history":              http.StatusNotFound,
		"/Medication/_history":              http.StatusNotFound,
		"/Nosuch/_history":                  http.StatusNotFound,
	} {
		if code, oo := f.do(tok, "GET", path, nil); code != want || len(oo["issue"].([]any)) == 0 {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	for _, c := range []struct{ method, path string }{{"POST", "/_history"}, {"DELETE", "/Observation/_history"}, {"PUT", "/Observation/_history"}, {"POST", "/Observation/" + imm + "/_history"}} {
		if code, _ := f.do(tok, c.method, c.path, nil); code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d", c.method, c.path, code)
		}
	}
	if code, _, b := f.raw(otok, "GET", "/_history", nil, map[string]string{"X-Purpose-Of-Use": "emergency"}); code != http.StatusForbidden {
		t.Errorf("emergency system history: %d %s", code, b)
	}
}

// testNpmIntegrator: fhir-kit-client finds a patient by family name and birth date, pages
// a chained search and a type history to the end, and gets an _include:iterate.
func (f *fixture) testNpmIntegrator(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	abdul := f.source(f.files[0]).patient
	res := f.runNPMScript(t, "integrator.mjs", "FHIR_TOKEN="+tok, "FAMILY=Koepp", "BIRTHDATE=1956-08-03")
	ps := step[struct {
		Total int
		IDs   []string
	}](t, res, "patientSearch")
	if ps.Total != 1 || !slices.Equal(ps.IDs, []string{abdul}) {
		t.Fatalf("patient search through the client: %+v", ps)
	}
	_, b := f.do(tok, "GET", "/Observation?patient="+abdul+"&code=http://loinc.org|8302-2&_count=1000", nil)
	ch := step[struct {
		Total, Pages int
		IDs          []string
	}](t, res, "chained")
	if ch.Total != 10 || ch.Pages != 3 || !slices.Equal(slices.Sorted(slices.Values(ch.IDs)), slices.Sorted(slices.Values(ids(t, b)))) {
		t.Fatalf("chained search through the client: %+v", ch)
	}
	it := step[struct {
		Matches  int
		Included []string
	}](t, res, "iterate")
	if it.Matches != 2 || len(it.Included) < 2 || it.Included[len(it.Included)-1] != "Patient" || slices.Index(it.Included, "Patient") != len(it.Included)-1 {
		t.Fatalf("_include:iterate through the client: %+v", it)
	}
	hs := step[struct {
		Total int
		IDs   []string
	}](t, res, "has")
	if hs.Total != 1 || !slices.Equal(hs.IDs, []string{abdul}) {
		t.Fatalf("_has through the client: %+v", hs)
	}
	wc := step[struct {
		Matches  int
		Included []string
	}](t, res, "wildcard")
	if wc.Matches != 1 || !slices.Equal(wc.Included, []string{"Encounter", "Patient"}) {
		t.Fatalf("_include=* through the client: %+v", wc)
	}
	h := step[struct {
		Type    string
		Total   int
		Pages   int
		Entries []string
	}](t, res, "history")
	if h.Type != "history" || h.Total != len(h.Entries) || h.Pages != (h.Total+49)/50 || len(slices.Compact(slices.Sorted(slices.Values(h.Entries)))) != h.Total {
		t.Fatalf("Encounter/_history through the client: type %s total %d, %d entries in %d pages", h.Type, h.Total, len(h.Entries), h.Pages)
	}
	var encs int
	for _, file := range f.files {
		for _, e := range f.source(file).entries {
			if e.Type == "Encounter" {
				encs++
			}
		}
	}
	if h.Total < encs {
		t.Fatalf("Encounter/_history: %d versions, the bundles hold %d encounters", h.Total, encs)
	}
}
