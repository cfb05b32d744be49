package fhir

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/records"
)

// Fragments of real Synthea resources (../shared/data/synthea-r4), shortened to the
// elements that matter; the file each comes from is named.
var sensitivityCases = []struct {
	name, file, json, want string
}{
	{"psychiatric encounter for PTSD", "Gilberto_Orosco_6ece62f3-283c-4387-aa9b-affba8ebf4c3.json",
		`{"resourceType":"Encounter","id":"bde9f39e-6c66-4297-8e19-8ba903a352e6","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"type":[{"coding":[{"system":"http://snomed.info/sct","code":"79094001","display":"Initial Psychiatric Interview with mental status evaluation"}]}],"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"47505003","display":"Posttraumatic stress disorder"}]}]}`,
		CatMentalHealth},
	{"check-up whose reason is PTSD", "Gilberto_Orosco_6ece62f3-283c-4387-aa9b-affba8ebf4c3.json",
		`{"resourceType":"Encounter","id":"eb098e5d-0e24-4878-9120-3580d57182f7","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"type":[{"coding":[{"system":"http://snomed.info/sct","code":"185345009","display":"Encounter for symptom"}]}],"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"47505003","display":"Posttraumatic stress disorder"}]}]}`,
		CatMentalHealth},
	{"sertraline", "Gilberto_Orosco_6ece62f3-283c-4387-aa9b-affba8ebf4c3.json",
		`{"resourceType":"MedicationRequest","id":"2f19d056-fe00-40f9-af97-f004006f5402","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"328670","display":"Sertraline 100MG"}],"text":"Sertraline 100MG"}}`,
		CatMentalHealth},
	{"opioid abuse", "Gilberto_Orosco_6ece62f3-283c-4387-aa9b-affba8ebf4c3.json",
		`{"resourceType":"Condition","id":"8681c71f-94bb-43f8-b078-f2536a99f0d0","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"5602001","display":"Opioid abuse (disorder)"}],"text":"Opioid abuse (disorder)"}}`,
		CatSubstanceUse},
	{"claim with a brain injury and opioid abuse: the most sensitive wins", "Gilberto_Orosco_6ece62f3-283c-4387-aa9b-affba8ebf4c3.json",
		`{"resourceType":"Claim","id":"b2b3252d-4449-48d8-aa43-7cb54613bd4a","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"institutional"}]},"item":[{"sequence":1,"productOrService":{"coding":[{"system":"http://snomed.info/sct","code":"185349003","display":"Encounter for check up (procedure)"}]}},{"sequence":2,"productOrService":{"coding":[{"system":"http://snomed.info/sct","code":"127295002","display":"Traumatic brain injury (disorder)"}]}},{"sequence":3,"productOrService":{"coding":[{"system":"http://snomed.info/sct","code":"5602001","display":"Opioid abuse (disorder)"}]}}]}`,
		CatSubstanceUse},
	{"HIV status", "Chrissy_Weimann_f924096c-b40b-423d-8e60-c27a25dc8d24.json",
		`{"resourceType":"Observation","id":"3e9d17a9-56f0-491b-902d-3542d1aebb7f","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"social-history"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"55277-8","display":"HIV status"}],"text":"HIV status"},"valueString":"not HIV positive"}`,
		CatHIV},
	{"HIV antigen test for a pregnancy: HIV outranks reproductive", "Natalia_Ruelas_bff04956-b74d-46b1-b8a3-a41b083b3045.json",
		`{"resourceType":"Procedure","id":"0c60cafc-ff9f-468c-b200-e394e34655f4","status":"completed","code":{"coding":[{"system":"http://snomed.info/sct","code":"31676001","display":"Human immunodeficiency virus antigen test"}]},"reasonReference":[{"reference":"urn:uuid:fc342d8d-0164-48a9-9406-0b74cb3f61c9","display":"Normal pregnancy"}]}`,
		CatHIV},
	{"gonorrhea test", "Natalia_Ruelas_bff04956-b74d-46b1-b8a3-a41b083b3045.json",
		`{"resourceType":"Procedure","id":"8e9896a4-d375-4b30-8a36-e6f9f434cdc6","status":"completed","code":{"coding":[{"system":"http://snomed.info/sct","code":"165829005","display":"Gonorrhea infection test"}]}}`,
		CatReproductive},
	{"body height", "Abdul_Koepp_e925b0f3-8006-43f6-aa31-94bd215e55e7.json",
		`{"resourceType":"Observation","id":"af5597a6-304d-4c8f-b596-60d17d445714","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8302-2","display":"Body Height"}]},"valueQuantity":{"value":180,"unit":"cm"}}`,
		CatGeneral},
	{"a Patient stays general whatever it codes", "Gilberto_Orosco_6ece62f3-283c-4387-aa9b-affba8ebf4c3.json",
		`{"resourceType":"Patient","id":"d92a3a52-50c3-446f-a3f9-7d34f7680bcb","extension":[{"url":"x","valueCoding":{"system":"http://snomed.info/sct","code":"5602001"}}],"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"ETH"}]}}`,
		CatGeneral},
	// Not from the data: ICD-10-CM is matched by block, and labels.
	{"ICD-10-CM depression", "",
		`{"resourceType":"Condition","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"F32.9"}]}}`, CatMentalHealth},
	{"ICD-10-CM opioid dependence", "",
		`{"resourceType":"Condition","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"F11.20"}]}}`, CatSubstanceUse},
	{"ICD-10-CM nicotine dependence is not Part 2", "",
		`{"resourceType":"Condition","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"F17.210"}]}}`, CatGeneral},
	{"ICD-10-CM HIV in pregnancy outranks pregnancy", "",
		`{"resourceType":"Condition","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"O98.711"}]}}`, CatHIV},
	{"ICD-10-CM the same code under SNOMED's system is unknown", "",
		`{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","code":"F32.9"}]}}`, CatGeneral},
	{"unknown code", "",
		`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"99999-9"}]}}`, CatGeneral},
	{"free text is not read", "",
		`{"resourceType":"Observation","code":{"text":"HIV status"},"valueString":"PTSD, opioid abuse"}`, CatGeneral},
	{"a security label wins over general codes", "",
		`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]},"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"PSY"}]}}`, CatMentalHealth},
	{"a label cannot lower what the codes say", "",
		`{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","code":"5602001"}]},"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"SEX"}]}}`, CatSubstanceUse},
	{"a label of another system is not a sensitivity label", "",
		`{"resourceType":"Observation","code":{"text":"x"},"meta":{"security":[{"system":"http://example.org/labels","code":"PSY"}],"tag":[{"system":"http://snomed.info/sct","code":"5602001"}]}}`, CatGeneral},
	{"a contained resource counts", "",
		`{"resourceType":"MedicationRequest","contained":[{"resourceType":"Medication","id":"m","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"328670"}]}}],"medicationReference":{"reference":"#m"}}`, CatMentalHealth},
}

func TestSensitivityPolicy(t *testing.T) {
	for _, c := range sensitivityCases {
		o, err := Parse([]byte(c.json))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.file != "" { // the fragment is from the cited bundle
			raw, err := os.ReadFile(filepath.Join(dataDir(t, "synthea-r4"), c.file))
			if err != nil || !strings.Contains(string(raw), `"id": "`+o["id"].(string)+`"`) && !strings.Contains(string(raw), `"id":"`+o["id"].(string)+`"`) {
				t.Fatalf("%s: resource %v is not in %s (%v)", c.name, o["id"], c.file, err)
			}
		}
		if got := Sensitivity.Classify(o); got.Category != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestSensitivityLabelNamedInClassification(t *testing.T) {
	o, _ := Parse([]byte(`{"resourceType":"Observation","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"HIV"}]}}`))
	c := Sensitivity.Classify(o)
	if c.Category != CatHIV || !c.Label || c.Code != "HIV" || !strings.Contains(c.String(), "security label") {
		t.Fatalf("%+v %s", c, c)
	}
	var zero Policy // knows nothing: everything is general
	if zero.Classify(o).Category != CatGeneral {
		t.Fatal("the zero policy classified")
	}
	ext := DefaultPolicy()
	ext.Add("http://hospital.example/codes", "X1", CatGenetic)
	o2, _ := Parse([]byte(`{"resourceType":"Observation","code":{"coding":[{"system":"http://hospital.example/codes","code":"X1"}]}}`))
	if ext.Classify(o2).Category != CatGenetic || Sensitivity.Classify(o2).Category != CatGeneral {
		t.Fatal("an extension did not apply, or changed the shared default")
	}
}

// TestSensitivityPolicyTable: every category the table names is one patients publish keys
// for, and every label and code maps to one.
func TestSensitivityPolicyTable(t *testing.T) {
	p := DefaultPolicy()
	check := func(what, cat string) {
		if !consentCategory(cat) {
			t.Errorf("%s maps to %q, not a default category", what, cat)
		}
	}
	for k, c := range p.codes {
		check(k.system+"|"+k.code, c)
	}
	for k, c := range p.labels {
		check("label "+k.code, c)
	}
	for sys, rules := range p.prefixes {
		for pre, c := range rules {
			check(sys+"|"+pre+"*", c)
		}
	}
	if Rank(CatSubstanceUse) <= Rank(CatGeneral) || Rank("made-up") <= Rank(CatSubstanceUse) {
		t.Fatal("rank order")
	}
}

// TestSensitivityUpdateNeverLowers: the category of a new version is the more sensitive of
// the head's and the content's.
func TestSensitivityUpdateNeverLowers(t *testing.T) {
	g := &Gateway{}
	psy, _ := Parse([]byte(`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"44261-6"}]}}`))
	plain, _ := Parse([]byte(`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]}}`))
	sud, _ := Parse([]byte(`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"75626-2"}]}}`))
	for _, c := range []struct {
		name string
		head *records.Meta
		o    Object
		want string
		kept bool
	}{
		{"new record", nil, psy, CatMentalHealth, false},
		{"general to mental-health goes up", &records.Meta{Category: CatGeneral, Version: 1}, psy, CatMentalHealth, false},
		{"mental-health to general stays", &records.Meta{Category: CatMentalHealth, Version: 2}, plain, CatMentalHealth, true},
		{"mental-health to substance-use goes up", &records.Meta{Category: CatMentalHealth, Version: 1}, sud, CatSubstanceUse, false},
		{"substance-use to mental-health stays", &records.Meta{Category: CatSubstanceUse, Version: 1}, psy, CatSubstanceUse, true},
	} {
		got := g.category(c.o, c.head)
		if got.Category != c.want || (got.Kept > 0) != c.kept {
			t.Errorf("%s: %s", c.name, got)
		}
	}
}

func consentCategory(c string) bool { return slices.Contains(consent.DefaultCategories, c) }

// TestLoadPolicy: a hospital's file extends the default table; a malformed one is refused
// with the row at fault, never half applied.
func TestLoadPolicy(t *testing.T) {
	dir := t.TempDir()
	p, err := LoadPolicy(filepath.Join(dir, "absent.json"))
	if err != nil || p.lookup(SystemRxNorm, "328670") != CatMentalHealth {
		t.Fatalf("no file: %v", err)
	}
	write := func(s string) string {
		path := filepath.Join(dir, PolicyFile)
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p, err = LoadPolicy(write(`{"codes": [{"system": "http://hospital.example/lab", "code": "GEN-1", "category": "genetic"},
		{"system": "http://loinc.org", "code": "8302-2", "category": "reproductive"}],
		"prefixes": [{"system": "http://hospital.example/dx", "prefix": "PSY.", "category": "mental-health"}],
		"labels": [{"system": "http://hospital.example/labels", "code": "secret-hiv", "category": "hiv"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ json, want string }{
		{`{"resourceType":"Observation","code":{"coding":[{"system":"http://hospital.example/lab","code":"GEN-1"}]}}`, CatGenetic},
		{`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]}}`, CatReproductive},
		{`{"resourceType":"Condition","code":{"coding":[{"system":"http://hospital.example/dx","code":"PSY.12"}]}}`, CatMentalHealth},
		{`{"resourceType":"Observation","meta":{"security":[{"system":"http://hospital.example/labels","code":"secret-hiv"}]}}`, CatHIV},
		{`{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","code":"5602001"}]}}`, CatSubstanceUse},
	} {
		o, _ := Parse([]byte(c.json))
		if got := p.Classify(o); got.Category != c.want {
			t.Errorf("%s: %s, want %s", c.json, got, c.want)
		}
	}
	for _, c := range []struct{ file, want string }{
		{`{"codes": [{"system": "s", "code": "c", "category": "vip"}]}`, `category "vip"`},
		{`{"codes": [{"system": "s", "category": "hiv"}]}`, "codes[0] needs a system and a code"},
		{`{"prefixes": [{"system": "s", "code": "F", "category": "hiv"}]}`, "prefixes[0] needs"},
		{`{"labels": [{"code": "PSY", "category": "hiv"}]}`, "labels[0] needs"},
		{`{"codes": [{"system": "s", "code": "c", "categroy": "hiv"}]}`, "unknown field"},
		{`{"codes": `, "unexpected EOF"},
	} {
		if _, err := LoadPolicy(write(c.file)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.file, err, c.want)
		}
	}
}

// BenchmarkClassify classifies every resource of the 40 Synthea bundles (8,138) once per
// iteration: go test -run XXX -bench Classify ./internal/fhir
func BenchmarkClassify(b *testing.B) {
	var rs []Object
	for _, f := range syntheaFiles(b) {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		bundle, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		es, err := BundleEntries(bundle)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range es {
			rs = append(rs, e.Resource)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, r := range rs {
			Sensitivity.Classify(r)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/resource")
}
