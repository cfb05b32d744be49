package fhir

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// npmClientDir holds the Node script that drives the gateway with fhir-kit-client, a FHIR
// client from npm written elsewhere, pinned by its package-lock.json.
const npmClientDir = "testdata/npm-client"

// runNPMClient installs the pinned client when node_modules is missing (npm ci) and runs
// the script against the gateway, returning what each step printed.
func (f *fixture) runNPMClient(t *testing.T, tok, patient string) map[string]json.RawMessage {
	return f.runNPMScript(t, "client.mjs", "FHIR_TOKEN="+tok, "PATIENT="+patient)
}

// runNPMScript runs one script of npmClientDir with FHIR_BASE and env set.
func (f *fixture) runNPMScript(t *testing.T, script string, env ...string) map[string]json.RawMessage {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required for the npm FHIR client test (.ci/run installs its packages)")
	}
	if _, err := os.Stat(filepath.Join(npmClientDir, "node_modules", "fhir-kit-client")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = npmClientDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", npmClientDir, err, out)
		}
	}
	cmd := exec.Command(node, script)
	cmd.Dir = npmClientDir
	cmd.Env = append(append(os.Environ(), "FHIR_BASE="+f.base), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s\n%s", script, err, out, stderr.String())
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("client output: %v\n%s", err, out)
	}
	return res
}

func step[T any](t *testing.T, res map[string]json.RawMessage, name string) T {
	t.Helper()
	var v T
	raw, ok := res[name]
	if !ok {
		t.Fatalf("the client printed no %q step", name)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v in %s", name, err, raw)
	}
	return v
}

// testNPMClient: fhir-kit-client reads the CapabilityStatement, creates, reads, updates
// with If-Match (a stale one refused), searches following next links to the end and with
// _include, posts a transaction and a batch, searches the patient's compartment and pages $everything to the end, against
// the gateway unchanged.
func (f *fixture) testNPMClient(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[1])
	res := f.runNPMClient(t, tok, s.patient)

	cs := step[struct {
		ResourceType, FhirVersion string
		ObservationInteractions   []string
	}](t, res, "capability")
	if cs.ResourceType != "CapabilityStatement" || cs.FhirVersion != "4.0.1" || !slices.Contains(cs.ObservationInteractions, "create") {
		t.Fatalf("capability: %+v", cs)
	}
	created := step[struct {
		Status                        int
		ID, VersionID, Location, Etag string
	}](t, res, "create")
	if created.Status != 201 || created.ID == "" || created.VersionID != "1" || created.Etag != `W/"1"` ||
		created.Location != f.base+"/Observation/"+created.ID+"/_history/1" {
		t.Fatalf("create: %+v", created)
	}
	read := step[struct {
		Status int
		Value  json.Number
		Etag   string
	}](t, res, "read")
	if read.Status != 200 || read.Value != "61" || read.Etag != `W/"1"` {
		t.Fatalf("read: %+v", read)
	}
	upd := step[struct {
		Status    int
		VersionID string
	}](t, res, "update")
	if upd.Status != 200 || upd.VersionID != "2" {
		t.Fatalf("update with If-Match W/\"1\": %+v", upd)
	}
	stale := step[struct {
		Status  any
		Outcome Object
	}](t, res, "staleUpdate")
	if fmt.Sprint(stale.Status) != "412" || stale.Outcome["resourceType"] != "OperationOutcome" {
		t.Fatalf("stale If-Match: %+v", stale)
	}
	after := step[struct {
		VersionID string
		Value     json.Number
	}](t, res, "afterStale")
	if after.VersionID != "2" || after.Value != "64" {
		t.Fatalf("the stale update wrote: %+v", after)
	}

	inc := step[struct {
		Matches  int
		Included []string
	}](t, res, "include")
	if inc.Matches != 3 || len(inc.Included) == 0 || slices.ContainsFunc(inc.Included, func(rt string) bool { return rt != "Encounter" }) {
		t.Fatalf("search with _include: %+v", inc)
	}

	tx := step[struct {
		Status    int
		Type      string
		Responses []struct {
			Status, Location, Etag string
		}
		ObservationEncounter string
	}](t, res, "transaction")
	if tx.Status != 200 || tx.Type != "transaction-response" || len(tx.Responses) != 2 {
		t.Fatalf("transaction: %+v", tx)
	}
	for i, rt := range []string{"Encounter", "Observation"} {
		r := tx.Responses[i]
		if !strings.HasPrefix(r.Status, "201") || !strings.HasPrefix(r.Location, f.base+"/"+rt+"/") || !strings.HasSuffix(r.Location, "/_history/1") {
			t.Fatalf("transaction entry %d: %+v", i, r)
		}
	}
	if enc := strings.TrimPrefix(strings.Split(tx.Responses[0].Location, "/_history/")[0], f.base+"/"); tx.ObservationEncounter != enc {
		t.Fatalf("the transaction's urn:uuid reference became %q, want %q", tx.ObservationEncounter, enc)
	}
	txObs := strings.TrimPrefix(strings.Split(tx.Responses[1].Location, "/_history/")[0], f.base+"/Observation/")
	bt := step[struct {
		Status                 int
		Type, Outcome, Created string
		Statuses               []string
	}](t, res, "batch")
	if bt.Status != 200 || bt.Type != "batch-response" || len(bt.Statuses) != 3 || !strings.HasPrefix(bt.Statuses[0], "200") ||
		!strings.HasPrefix(bt.Statuses[1], "412") || bt.Outcome != "OperationOutcome" || !strings.HasPrefix(bt.Statuses[2], "201") {
		t.Fatalf("batch: %+v", bt)
	}
	// The pages the client walked hold exactly what one search of the gateway finds (less
	// the Observations the transaction and the batch wrote after the walk).
	_, b := f.do(tok, "GET", "/Observation?patient="+s.patient+"&code=http://loinc.org|8867-4&_count=1000", nil)
	want := slices.DeleteFunc(ids(t, b), func(id string) bool { return id == txObs || id == bt.Created })
	search := step[struct {
		Total, Pages, Entries int
		IDs                   []string
	}](t, res, "search")
	if search.Total != len(want) || search.Entries != len(want) || search.Pages != (len(want)+6)/7 ||
		!slices.Equal(search.IDs, want) || !slices.Contains(search.IDs, created.ID) {
		t.Fatalf("search paged by the client: total %d, %d entries in %d pages; the gateway finds %d", search.Total, search.Entries, search.Pages, len(want))
	}

	comp := step[struct{ Total int }](t, res, "compartment")
	if comp.Total != len(want)+2 { // the transaction's and the batch's
		t.Fatalf("compartment search: %d heart rates, want %d", comp.Total, len(want)+1)
	}
	ev := step[struct {
		Total, Pages int
		First        string
		Refs         []string
	}](t, res, "everything")
	chart := f.chart(tok, s.patient)
	slices.Sort(chart)
	got := slices.Sorted(slices.Values(ev.Refs))
	if ev.First != "Patient" || ev.Total != len(chart) || ev.Pages != (len(chart)+24)/25 || !slices.Equal(got, chart) {
		t.Fatalf("$everything through the client: first %s, total %d in %d pages; the chart has %d", ev.First, ev.Total, ev.Pages, len(chart))
	}
}
