package fhir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dataDir is the shared test data, beside the repository.
func dataDir(t testing.TB, sub string) string {
	t.Helper()
	// The shared data sits next to the checkout: /work/shared beside /work/main, or one
	// level further up for a worktree under /work/wt.
	var err error
	for _, up := range []string{"../../..", "../../../.."} {
		d := filepath.Join(up, "shared", "data", sub)
		if _, err = os.Stat(d); err == nil {
			return d
		}
	}
	t.Fatalf("test data shared/data/%s is missing: %v", sub, err)
	return ""
}

// TestValidateRejectsEveryInvalidFile runs the HL7 validator's own failing cases: every
// one must be refused, and the outcome must point at what upstream names.
func TestValidateRejectsEveryInvalidFile(t *testing.T) {
	want := map[string]string{ // file -> a fragment of the expected expression or message
		"Observation-ex-pain.json":               "Observation.code",
		"ai3.json":                               "unknownElement",
		"ai4.json":                               "Patient.birthDate",
		"attachment-with-invalid-binary.json":    "Media.content.data",
		"attachment-with-wrong-size.json":        "Media.content.size",
		"bad-json-close-1.json":                  "not well-formed JSON",
		"bundle-duplicate-id.json":               "absolute URL",
		"empty-array.json":                       "DocumentReference.category[0].coding",
		"encounter-period.json":                  "per-1",
		"hakan-se-2.json":                        "MedicationRequest.medication[x]",
		"json-comments.json":                     "fhir_comments",
		"pat-security-bad-xhtml.json":            "script",
		"patient-id-bad-1.json":                  "Patient.id",
		"patient-id-bad-2.json":                  "Patient.id",
		"patient-id-bad-3.json":                  "Patient.id",
		"resource-invalid-id-1.json":             "Location.id",
		"resource-invalid-id-2.json":             "Location.id",
		"resource-invalid-id-3.json":             "Location.contained[0].id",
		"risk-assessment-probability-range.json": "ras-2",
		"synthea.json":                           "Encounter.reasonCode",
	}
	dir := dataDir(t, "fhir-r4-invalid")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 20 {
		t.Fatalf("expected 20 invalid files, found %d", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Validate(raw)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("accepted (err %v)", err)
			}
			oo := ve.Outcome()
			if oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
				t.Fatalf("outcome %+v", oo)
			}
			text := ve.Error()
			frag, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s; outcome: %s", name, text)
			}
			if !strings.Contains(text, frag) {
				t.Errorf("outcome does not mention %q: %s", frag, text)
			}
		})
	}
}

// TestValidateAcceptsExamples: every official example of a type the gateway stores, and
// every other example too, must validate.
func TestValidateAcceptsExamples(t *testing.T) { validatesAll(t, "fhir-r4-examples", 40) }

// TestValidateAcceptsSynthea: all 40 patients' bundles are valid R4.
func TestValidateAcceptsSynthea(t *testing.T) { validatesAll(t, "synthea-r4", 40) }

// validatesAll checks that the want JSON files in the shared data directory dir all validate.
func validatesAll(t *testing.T, dir string, want int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dataDir(t, dir), "*.json"))
	if len(files) != want {
		t.Fatalf("expected %d files in %s, found %d", want, dir, len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Validate(raw); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

// TestValidateAdversarial: hand-made breakages the shared files do not cover.
func TestValidateAdversarial(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"duplicate key", `{"resourceType":"Patient","gender":"male","gender":"female"}`, "duplicate JSON property"},
		{"trailing data", `{"resourceType":"Patient"} {}`, "unexpected data"},
		{"not an object", `[1]`, "JSON object"},
		{"unknown type", `{"resourceType":"Hospital"}`, "unknown resource type"},
		{"bad code", `{"resourceType":"Patient","gender":"m"}`, "required value set"},
		{"bool as string", `{"resourceType":"Patient","active":"true"}`, "Patient.active"},
		{"array for single", `{"resourceType":"Patient","gender":["male"]}`, "single value"},
		{"null", `{"resourceType":"Patient","birthDate":null}`, "null"},
		{"impossible date", `{"resourceType":"Patient","birthDate":"2020-02-30"}`, "calendar date"},
		{"dateTime without zone", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"effectiveDateTime":"2020-01-01T10:00:00"}`, "effectiveDateTime"},
		{"two choice types", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","valueBoolean":true}`, "choice"},
		{"wrong choice type", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueFoo":"a"}`, "valueFoo"},
		{"integer overflow", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueInteger":4294967296}`, "32-bit"},
		{"empty object", `{"resourceType":"Patient","meta":{}}`, "Patient.meta"},
		{"empty string", `{"resourceType":"Patient","language":""}`, "Patient.language"},
		{"period reversed", `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"start":"2020-01-02","end":"2020-01-01"}}`, "per-1"},
		{"attachment hash", `{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"text/plain","data":"aGVsbG8=","hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAA="}}]}`, "hash"},
		{"onclick", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\" onclick=\"x()\">a</div>"}}`, "onclick"},
		{"contained bad", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","nme":"x"}]}`, "Patient.contained[0]"},
		{"deep nesting", strings.Repeat("[", 200) + strings.Repeat("]", 200), "deeply"},
	} {
		_, err := Validate([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want an error mentioning %q, got %v", c.name, c.want, err)
		}
	}
}

func BenchmarkValidateSyntheaBundle(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(dataDir(b, "synthea-r4"), "*.json"))
	raw, err := os.ReadFile(files[0])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Validate(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateObservation(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(dataDir(b, "fhir-r4-examples"), "Observation-blood-pressure.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Validate(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzValidate: no input makes the parser or validator panic, and whatever is accepted
// survives a re-encoding unchanged.
func FuzzValidate(f *testing.F) {
	for _, dir := range []string{"fhir-r4-invalid", "fhir-r4-examples"} {
		files, _ := filepath.Glob(filepath.Join(dataDir(f, dir), "*.json"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := Validate(raw)
		if err != nil {
			return
		}
		b, err := Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		o2, err := Validate(b)
		if err != nil {
			t.Fatalf("re-encoded resource no longer validates: %v", err)
		}
		b2, _ := Marshal(o2)
		if string(b) != string(b2) {
			t.Fatal("re-encoding is not stable")
		}
	})
}
