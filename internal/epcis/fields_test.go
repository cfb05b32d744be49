package epcis

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// An event's JSON is the event as written: re-parsing it gives the same hash.
func TestEventJSONRoundTrips(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(dataDir, "examples", "*.jsonld"))
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := HashDocument(doc)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		for i, ev := range evs {
			if !json.Valid(ev.JSON()) {
				t.Fatalf("%s event %d: invalid JSON %s", f, i, ev.JSON())
			}
			// Put the event back into its document's context and hash it alone.
			one := bytes.Replace([]byte(`{"@context":CTX,"epcisBody":{"eventList":[EV]}}`), []byte("EV"), ev.JSON(), 1)
			ctx, _ := json.Marshal(d["@context"])
			one = bytes.Replace(one, []byte("CTX"), ctx, 1)
			again, err := HashCapture(one)
			if err != nil || again[0].HashID != ev.HashID {
				t.Fatalf("%s event %d: re-encoded event hashes to %v (%v), want %s", filepath.Base(f), i, again, err, ev.HashID)
			}
		}
	}
}

// Member names are exact: a differently cased member is an extension, not the field.
func TestEventFieldsAreCaseExact(t *testing.T) {
	doc := []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"epcisBody":{"eventList":[
	 {"type":"ObjectEvent","TYPE":"Other","action":"ADD","epcList":["urn:epc:id:sgtin:4012345.012345.1"],"EPCLIST":["x"],
	  "quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.L1","quantity":1},{"EPCCLASS":"y"}],
	  "eventTime":"2026-01-02T03:04:05Z","eventTimeZoneOffset":"+00:00"}]}}`)
	evs, err := HashCapture(doc)
	if err != nil {
		t.Fatal(err)
	}
	ev := evs[0]
	if ev.Text("type") != "ObjectEvent" || len(ev.List("epcList", "")) != 1 || ev.List("epcList", "")[0] != "urn:epc:id:sgtin:4012345.012345.1" {
		t.Fatalf("fields: %q %v", ev.Text("type"), ev.List("epcList", ""))
	}
	if q := ev.List("quantityList", "epcClass"); len(q) != 1 || q[0] != "urn:epc:class:lgtin:4012345.012345.L1" {
		t.Fatalf("quantityList: %v", q)
	}
	for _, d := range []string{`{"@context":[],"epcisBody":{"eventList":[]}}`, `{"@context":[],"epcisBody":{"event":{"type":"ObjectEvent"}}}`} {
		if _, err := HashCapture([]byte(d)); err == nil {
			t.Errorf("%s accepted as a capture", d)
		}
	}
}
