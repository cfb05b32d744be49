package epcis

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testValidator(t *testing.T) *Validator {
	t.Helper()
	schema, err := os.ReadFile(filepath.Join(dataDir, "schema", "EPCIS-JSON-Schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewValidator(schema)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchemaAcceptsEveryStandardExample(t *testing.T) {
	v := testValidator(t)
	files, _ := filepath.Glob(filepath.Join(dataDir, "examples", "*.jsonld"))
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		doc, _ := os.ReadFile(f)
		err := v.Validate(doc)
		if want, known := knownSchemaRefusals[filepath.Base(f)]; known {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: want refused naming %q, got %v", filepath.Base(f), want, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

// knownSchemaRefusals are standard examples that GS1's own schema (the copy under
// ../shared/data) refuses, and we follow the schema: one gives AggregationEvents a
// persistentDisposition and an "id", which the schema's AggregationEvent does not allow;
// the other writes a sourceList and destinationList as an object, not an array.
var knownSchemaRefusals = map[string]string{
	"Example-TransactionEvents-2020_07_03y.jsonld": "/epcisBody/eventList/1/sourceList: got object, want array",
	"PersistentDisposition-example.jsonld":         "'persistentDisposition' is not valid uri",
}

// Each hand-made bad document is refused, and the error names the element at fault.
func TestSchemaRefusesNamingTheElement(t *testing.T) {
	v := testValidator(t)
	cases := map[string]string{
		"bad-action.jsonld":            "/epcisBody/eventList/0/action",
		"missing-eventTime.jsonld":     "eventTime",
		"bad-eventTime.jsonld":         "/epcisBody/eventList/0/eventTime",
		"missing-schemaVersion.jsonld": "schemaVersion",
		"bad-epc.jsonld":               "/epcisBody/eventList/0/epcList/0",
		"truncated.jsonld":             "malformed JSON",
	}
	for file, want := range cases {
		doc, err := os.ReadFile(filepath.Join("testdata", "invalid", file))
		if err != nil {
			t.Fatal(err)
		}
		err = v.Validate(doc)
		if err == nil {
			t.Errorf("%s: accepted", file)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not name %q", file, err, want)
		}
		var se *SchemaError
		if file != "truncated.jsonld" && !errors.As(err, &se) {
			t.Errorf("%s: not a SchemaError: %v", file, err)
		}
		t.Logf("%s: %v", file, err)
	}
}
