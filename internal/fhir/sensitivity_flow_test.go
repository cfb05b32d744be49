package fhir

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/records"
)

// TestSensitiveCategories imports Gilberto Orosco, whose bundle holds a psychiatric
// interview for PTSD, sertraline and opioid abuse, and plays the consent story on those
// categories: a provider granted "general" reads and finds only general records; the
// sensitive ones are denied (and the denials audited) and never show in a search; a
// "mental-health" grant opens the mental-health ones and nothing more.
func TestSensitiveCategories(t *testing.T) {
	var file string
	for _, f := range syntheaFiles(t) {
		if strings.Contains(f, "Gilberto_Orosco_") {
			file = f
		}
	}
	f := newFixture(t, []string{file})
	s := f.source(file)
	ctx := context.Background()

	// Every record is on the ledger under the category the policy gives its resource, and
	// the summary counts them.
	v := f.r.Node.View()
	want := map[string]string{} // record id -> category
	byCat := map[string][]*Entry{}
	for _, e := range s.entries {
		cat := Sensitivity.Classify(e.Resource).Category
		want[e.ID] = cat
		byCat[cat] = append(byCat[cat], e)
		if m := records.Version(v, e.ID, 1); m == nil || m.Category != cat {
			t.Fatalf("%s %s: on the ledger as %+v, want category %s", e.Type, e.SourceID, m, cat)
		}
	}
	for _, c := range []struct{ sourceID, cat string }{
		{"bde9f39e-6c66-4297-8e19-8ba903a352e6", CatMentalHealth}, // psychiatric interview, PTSD
		{"2f19d056-fe00-40f9-af97-f004006f5402", CatMentalHealth}, // sertraline
		{"8681c71f-94bb-43f8-b078-f2536a99f0d0", CatSubstanceUse}, // opioid abuse
	} {
		if i := slices.IndexFunc(s.entries, func(e *Entry) bool { return e.SourceID == c.sourceID }); i < 0 || want[s.entries[i].ID] != c.cat {
			t.Fatalf("%s is not %s", c.sourceID, c.cat)
		}
	}
	for cat, es := range byCat {
		if f.st.Categories[cat] != len(es) {
			t.Fatalf("summary counts %d %s records, the ledger holds %d: %s", f.st.Categories[cat], cat, len(es), f.st.Summary())
		}
	}
	if len(byCat[CatMentalHealth]) == 0 || len(byCat[CatSubstanceUse]) == 0 || !strings.Contains(f.st.Summary(), "mental-health") {
		t.Fatalf("no sensitive records: %s", f.st.Summary())
	}
	// The patient has a key of every category, so reads and grants work for all of them.
	cks, err := f.r.Client.CategoryKeys(ctx, s.patient)
	if err != nil {
		t.Fatal(err)
	}
	for _, cat := range consent.DefaultCategories {
		if !slices.ContainsFunc(cks, func(k consent.CategoryKey) bool { return k.Category == cat }) {
			t.Fatalf("the patient has no %s key: %+v", cat, cks)
		}
	}

	other := f.otherProvider(t)
	f.gw.Unlock(other)
	tok := f.token(other)
	ptok := f.login(PatientKeystoreName(sourceOf(s).SourceID), f.im.Passphrase)
	f.grantCategories(ptok, s.patient, other.ID, CatGeneral)

	// Searches return exactly the general records of each type, each as it was imported.
	visible := func(cats ...string) {
		t.Helper()
		for _, rt := range Supported {
			var exp []string
			for _, e := range s.entries {
				if e.Type == rt && slices.Contains(cats, want[e.ID]) {
					exp = append(exp, e.ID)
				}
			}
			code, b := f.do(tok, "GET", "/"+rt+"?patient="+s.patient+"&_count=1000", nil)
			if len(exp) == 0 && code == http.StatusOK && total(b) == 0 {
				continue
			}
			// Hits are the imported records of these categories and, if the writes
			// subtest ran, records it wrote: those only of these categories too.
			var got []string
			entries, _ := b["entry"].([]any)
			for _, x := range entries {
				r := x.(Object)["resource"].(Object)
				i := slices.IndexFunc(s.entries, func(e *Entry) bool { return e.ID == r["id"] })
				if i < 0 {
					if m := records.Version(f.r.Node.View(), r["id"].(string), 1); m == nil || !slices.Contains(cats, m.Category) {
						t.Fatalf("%s under %v: search returned %v, a %v record", rt, cats, r["id"], m)
					}
					continue
				}
				sameResource(t, s.entries[i], s.refs, r)
				got = append(got, s.entries[i].ID)
			}
			slices.Sort(got)
			slices.Sort(exp)
			if code != http.StatusOK || !slices.Equal(got, exp) || total(b) != len(entries) {
				t.Fatalf("%s under %v: %d, %d imported hits (total %d), want %d", rt, cats, code, len(got), total(b), len(exp))
			}
		}
	}
	visible(CatGeneral)
	// $everything is the general part of the chart, paged, and not one sensitive record.
	ev, _, n := f.walk(tok, "/Patient/"+s.patient+"/$everything?_count=100", 100)
	if n != len(byCat[CatGeneral]) || len(ev) != n {
		t.Fatalf("$everything under a general grant: %d resources (total %d), %d general records", len(ev), n, len(byCat[CatGeneral]))
	}
	for _, e := range byCat[CatGeneral] {
		if !slices.Contains(ev, e.Type+"/"+e.ID) {
			t.Fatalf("$everything under a general grant lacks %s/%s", e.Type, e.ID)
		}
	}
	// An _include of a sensitive encounter is withheld, and the denial audited.
	f.checkIncludeConsent(t, s, tok, other.ID, want)
	f.checkSensitiveReverse(t, s, tok, other.ID, want, false)
	// Searching for the sensitive codes finds nothing.
	for _, q := range []string{"/Encounter?type=79094001", "/Condition?code=http://snomed.info/sct|5602001", "/MedicationRequest?code=328670"} {
		if code, b := f.do(tok, "GET", q+"&patient="+s.patient, nil); code != http.StatusOK || total(b) != 0 {
			t.Fatalf("%s: %d, %d hits under a general grant", q, code, total(b))
		}
	}
	// Reading a sensitive record directly is denied, and every denial is on the ledger.
	denied := func(es []*Entry) {
		t.Helper()
		for _, e := range es {
			if code, _ := f.do(tok, "GET", "/"+e.Type+"/"+e.ID, nil); code != http.StatusForbidden {
				t.Fatalf("%s %s (%s) read under a general grant: %d", e.Type, e.SourceID, want[e.ID], code)
			}
		}
	}
	sensitive := append(slices.Clone(byCat[CatMentalHealth]), byCat[CatSubstanceUse]...)
	denied(sensitive)
	aud, err := f.r.Client.AuditQuery(ctx, f.cast.Auditor, audit.Filter{Actor: other.ID, Action: "record.read", Outcome: "denied", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sensitive {
		if !slices.ContainsFunc(aud.Events, func(ev *audit.Event) bool { return ev.Record == e.ID && ev.Category == want[e.ID] }) {
			t.Fatalf("the denied read of %s %s is not audited", e.Type, e.ID)
		}
	}

	var raised string // a record written general, then raised to mental-health
	t.Run("writes", func(t *testing.T) { raised = f.sub(t).testSensitiveWrites(s, tok) })
	if raised == "" {
		t.FailNow()
	}

	// A mental-health grant opens the mental-health records, not the substance-use ones.
	f.grantCategories(ptok, s.patient, other.ID, CatMentalHealth)
	visible(CatGeneral, CatMentalHealth)
	f.checkSensitiveReverse(t, s, tok, other.ID, want, true)
	if code, b := f.do(tok, "GET", "/Encounter?type=79094001&patient="+s.patient, nil); code != http.StatusOK || total(b) == 0 {
		t.Fatalf("the psychiatric encounters are not found under a mental-health grant: %d %d", code, total(b))
	}
	denied(byCat[CatSubstanceUse])
	// A provider granted only mental-health reads the raised record, but its history shows
	// only the mental-health versions: the general one is under a key it does not hold.
	third := f.otherProvider(t)
	f.gw.Unlock(third)
	ttok := f.token(third)
	f.grantCategories(ptok, s.patient, third.ID, CatMentalHealth)
	if code, h := f.do(ttok, "GET", "/Observation/"+raised+"/_history", nil); code != http.StatusOK || total(h) != 2 {
		t.Fatalf("mental-health grantee's history of the raised record: %d %v", code, h)
	}
	if code, _ := f.do(ttok, "GET", "/Observation/"+raised+"/_history/1", nil); code != http.StatusForbidden {
		t.Fatalf("mental-health grantee read the general version: %d", code)
	}
	if code, h := f.do(tok, "GET", "/Observation/"+raised+"/_history", nil); code != http.StatusOK || total(h) != 3 {
		t.Fatalf("general and mental-health grantee's history: %d %v", code, total(h))
	}
	// The patient reads every record of theirs, sensitive or not.
	for _, e := range sensitive {
		if code, r := f.do(ptok, "GET", "/"+e.Type+"/"+e.ID, nil); code != http.StatusOK {
			t.Fatalf("the patient cannot read their %s record %s: %d", want[e.ID], e.ID, code)
		} else {
			sameResource(t, e, s.refs, r)
		}
	}
}

// grantCategories has the patient post a Consent letting grantee read the categories for
// treatment, and returns the grant id.
func (f *fixture) grantCategories(ptok, patient, grantee string, cats ...string) string {
	f.t.Helper()
	var labels []any
	for _, c := range cats {
		labels = append(labels, Object{"system": SystemCategory, "code": c})
	}
	cons := Object{"resourceType": "Consent", "status": "active",
		"scope":      Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}}},
		"category":   []any{Object{"coding": []any{Object{"system": "http://loinc.org", "code": "59284-0"}}}},
		"patient":    Object{"reference": "Patient/" + patient},
		"policyRule": Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}}},
		"provision": Object{"type": "permit",
			"period":        Object{"start": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
			"actor":         []any{Object{"role": Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}}}, "reference": Object{"reference": "Practitioner/" + grantee}}},
			"action":        []any{Object{"coding": []any{Object{"system": systemConsentAct, "code": "access"}}}},
			"purpose":       []any{Object{"system": systemActReason, "code": "TREAT"}},
			"securityLabel": labels}}
	code, created := f.do(ptok, "POST", "/Consent", cons)
	if code != http.StatusCreated {
		f.t.Fatalf("consent for %v: %d %v", cats, code, created)
	}
	return created["id"].(string)
}

// testSensitiveWrites: the gateway classifies what it writes; an update can raise a
// record's category but never lower it; a label raises it; a patient without the key is
// refused before anything is written. tok is a provider granted "general" only.
func (f *fixture) testSensitiveWrites(s *source, tok string) string {
	t := f.t.(*testing.T)
	atok := f.token(f.cast.Provider)
	category := func(id string, version uint32) string {
		t.Helper()
		m := records.Version(f.r.Node.View(), id, version)
		if m == nil {
			t.Fatalf("%s version %d is not on the ledger", id, version)
		}
		return m.Category
	}
	obs := func(codes ...string) Object {
		var cs []any
		for _, c := range codes {
			cs = append(cs, Object{"system": "http://loinc.org", "code": c})
		}
		return Object{"resourceType": "Observation", "status": "final", "subject": patientRef(s),
			"code": Object{"coding": cs}, "valueQuantity": Object{"value": json.Number("4")}}
	}
	code, created := f.do(atok, "POST", "/Observation", obs("8867-4"))
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)
	if category(id, 1) != CatGeneral {
		t.Fatal("a heart rate is not general")
	}
	if code, _ := f.do(tok, "GET", "/Observation/"+id, nil); code != http.StatusOK {
		t.Fatalf("general grantee reads a general record: %d", code)
	}
	// Adding a PHQ-9 code moves the record to mental-health: the general grantee loses it,
	// history included.
	upd := obs("8867-4", "44261-6")
	upd["id"] = id
	if code, r := f.do(atok, "PUT", "/Observation/"+id, upd); code != http.StatusOK || category(id, 2) != CatMentalHealth {
		t.Fatalf("update with a PHQ-9 code: %d %v", code, r)
	}
	for _, p := range []string{"", "/_history", "/_history/1"} {
		if code, _ := f.do(tok, "GET", "/Observation/"+id+p, nil); code != http.StatusForbidden {
			t.Fatalf("GET %s after the record became mental-health: %d", p, code)
		}
	}
	// Dropping the code again does not bring it back down.
	upd = obs("8867-4")
	upd["id"] = id
	if code, r := f.do(atok, "PUT", "/Observation/"+id, upd); code != http.StatusOK || category(id, 3) != CatMentalHealth {
		t.Fatalf("update without the code: %d %v, category %s", code, r, category(id, 3))
	}
	if code, _ := f.do(tok, "GET", "/Observation/"+id, nil); code != http.StatusForbidden {
		t.Fatalf("a downgrade by update exposed the record: %d", code)
	}
	// The author still reads every version.
	if code, h := f.do(atok, "GET", "/Observation/"+id+"/_history", nil); code != http.StatusOK || total(h) != 3 {
		t.Fatalf("author's history: %d %d", code, total(h))
	}
	// A security label on general content raises it, in a create and in a transaction.
	labelled := obs("8867-4")
	labelled["meta"] = Object{"security": []any{Object{"system": SystemActCode, "code": "ETH"}}}
	code, created = f.do(atok, "POST", "/Observation", labelled)
	if code != http.StatusCreated || category(created["id"].(string), 1) != CatSubstanceUse {
		t.Fatalf("labelled ETH: %d %v", code, created)
	}
	bundle := Object{"resourceType": "Bundle", "type": "transaction", "entry": []any{
		Object{"fullUrl": "urn:uuid:9d0f7c2a-1b3e-4c5d-8e9f-0a1b2c3d4e5f", "resource": obs("8302-2"), "request": Object{"method": "POST", "url": "Observation"}},
		Object{"fullUrl": "urn:uuid:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", "resource": obs("55277-8"), "request": Object{"method": "POST", "url": "Observation"}}}}
	code, tr := f.do(atok, "POST", "", bundle)
	if code != http.StatusOK {
		t.Fatalf("transaction: %d %v", code, tr)
	}
	for i, wantCat := range []string{CatGeneral, CatHIV} {
		loc := strings.TrimPrefix(tr["entry"].([]any)[i].(Object)["response"].(Object)["location"].(string), f.base+"/")
		if got := category(strings.Split(loc, "/")[1], 1); got != wantCat {
			t.Fatalf("transaction entry %d: %s, want %s", i, got, wantCat)
		}
	}
	// A patient who published only a general key: a mental-health resource is refused with
	// the reason, and nothing is written.
	before := len(records.PatientRecords(f.r.Node.View(), f.cast.Patient.ID))
	psy := obs("44261-6")
	psy["subject"] = Object{"reference": "Patient/" + f.cast.Patient.ID}
	code, oo := f.do(atok, "POST", "/Observation", psy)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(mustMarshal(t, oo)), "no mental-health key") ||
		!strings.Contains(string(mustMarshal(t, oo)), "44261-6") {
		t.Fatalf("mental-health record for a patient without the key: %d %v", code, oo)
	}
	if after := len(records.PatientRecords(f.r.Node.View(), f.cast.Patient.ID)); after != before {
		t.Fatalf("a refused write left %d records", after-before)
	}
	return id
}
