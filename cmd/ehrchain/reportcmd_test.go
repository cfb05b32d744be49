package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// fixedEvents is an event source that holds its events in memory and records what it was
// asked for.
type fixedEvents struct {
	evs      []*audit.Event
	from, to time.Time
}

func (f *fixedEvents) Events(_ context.Context, from, to time.Time) ([]*audit.Event, error) {
	f.from, f.to = from, to
	var out []*audit.Event
	for _, e := range f.evs {
		if (from.IsZero() || !e.Time.Before(from)) && (to.IsZero() || e.Time.Before(to)) {
			out = append(out, e)
		}
	}
	return out, nil
}

const (
	repPatient  = "1111111111111111111111111111111111111111"
	repProvider = "2222222222222222222222222222222222222222"
)

func reportEvents() []*audit.Event {
	at := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	read := func(i uint64, actor, outcome string) *audit.Event {
		return &audit.Event{Index: i, Height: int64(i + 1), Time: at.Add(time.Duration(i) * time.Minute), Action: audit.RecordRead,
			Outcome: outcome, Actor: actor, ActorRole: "provider", Organization: "St Mary", Patient: repPatient, Record: "r-1",
			Version: 1, Category: "general", ResourceType: "Observation", Purpose: "treatment", Grant: "g-1", Reason: "allowed by grant g-1"}
	}
	return []*audit.Event{read(0, repProvider, audit.Success), read(1, repProvider, audit.Denied), read(2, repPatient, audit.Success)}
}

func runReport(t *testing.T, src *fixedEvents, args ...string) (string, error) {
	t.Helper()
	g := &globals{home: t.TempDir()}
	var gotAs, gotPatient string
	c := newReportCmd(g, func(as, patient string) (eventSource, error) {
		gotAs, gotPatient = as, patient
		return src, nil
	})
	var out, errs bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errs)
	c.SetArgs(args)
	err := c.Execute()
	if err == nil && gotAs != "aud" {
		t.Fatalf("source opened as %q", gotAs)
	}
	if err == nil && strings.Contains(strings.Join(args, " "), "--patient") && gotPatient != repPatient {
		t.Fatalf("source opened for patient %q", gotPatient)
	}
	return out.String(), err
}

func TestReportCommandDisclosures(t *testing.T) {
	src := &fixedEvents{evs: reportEvents()}
	out, err := runReport(t, src, "--as", "aud", "--patient", repPatient, "--to", "2026-01-31")
	if err != nil {
		t.Fatal(err)
	}
	var a auditreport.Accounting
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(a.Disclosures) != 1 || a.Disclosures[0].Recipient.ID != repProvider || a.Patient != repPatient {
		t.Fatalf("accounting %+v", a)
	}
	// A date ends the period after that whole day; the default start is six years earlier.
	if want := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC); !a.To.Equal(want) || !src.to.Equal(want) || !a.From.Equal(want.AddDate(-6, 0, 0)) {
		t.Fatalf("period %s - %s (source asked up to %s)", a.From, a.To, src.to)
	}

	file := filepath.Join(t.TempDir(), "disclosures.csv")
	if _, err := runReport(t, src, "--as", "aud", "--patient", repPatient, "--format", "csv", "--out", file); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st, _ := f.Stat(); st.Mode().Perm() != 0o600 {
		t.Errorf("report file mode %v, want 0600", st.Mode().Perm())
	}
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %v %q", err, rows)
	}
}

func TestReportCommandCompliance(t *testing.T) {
	src := &fixedEvents{evs: reportEvents()}
	for _, format := range []string{"json", "csv", "html", "fhir"} {
		out, err := runReport(t, src, "--as", "aud", "--compliance", "--from", "2026-01-01", "--to", "2026-01-31T00:00:00Z",
			"--format", format, "--work-hours", "8-17", "--time-zone", "Europe/Paris")
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if !src.from.IsZero() {
			t.Fatalf("compliance fetched from %s, want the start of the log (anomaly context)", src.from)
		}
		switch format {
		case "json":
			var c auditreport.Compliance
			if err := json.Unmarshal([]byte(out), &c); err != nil || c.Events != 3 || c.TimeZone != "Europe/Paris" || c.Rules.WorkStart != 8 {
				t.Fatalf("json: %v %+v", err, c)
			}
		case "html":
			if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "chart-activity-over-time") {
				t.Fatalf("html: %.200s", out)
			}
		case "fhir":
			var b auditreport.Bundle
			if err := json.Unmarshal([]byte(out), &b); err != nil || b.Type != "collection" || len(b.Entry) != 3 {
				t.Fatalf("fhir: %v %+v", err, b)
			}
		case "csv":
			if rows, err := csv.NewReader(strings.NewReader(out)).ReadAll(); err != nil || len(rows) != 4 {
				t.Fatalf("csv: %v %q", err, rows)
			}
		}
	}
}

func TestReportCommandRejects(t *testing.T) {
	src := &fixedEvents{evs: reportEvents()}
	for _, args := range [][]string{
		{"--as", "aud"}, // neither report
		{"--as", "aud", "--compliance", "--patient", repPatient},
		{"--as", "aud", "--compliance", "--format", "pdf"},
		{"--as", "aud", "--compliance", "--from", "yesterday"},
		{"--as", "aud", "--compliance", "--from", "2026-02-01", "--to", "2026-01-01"},
		{"--as", "aud", "--compliance", "--work-hours", "9"},
		{"--as", "aud", "--compliance", "--time-zone", "Mars/Olympus"},
		{"--as", "aud", "--compliance", "--repeated-denials", "1"},
		{"--compliance"}, // no --as
	} {
		if _, err := runReport(t, src, args...); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestReportCommandPeriodBound: a period longer than the report policy allows is refused
// with the policy's message before any event is fetched; the longest one is accepted.
func TestReportCommandPeriodBound(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // error text; "" accepted
	}{
		{[]string{"--patient", repPatient, "--from", "2019-12-31", "--to", "2025-12-31"}, "an accounting of disclosures covers at most 6 years"},
		{[]string{"--compliance", "--from", "2024-12-31", "--to", "2025-12-31"}, "a compliance report covers at most 1 year"},
		{[]string{"--compliance", "--from", "2026-02-01", "--to", "2026-01-01"}, "after its end"},
		{[]string{"--patient", repPatient, "--from", "2020-01-01", "--to", "2025-12-31"}, ""},
		{[]string{"--compliance", "--from", "2025-01-01", "--to", "2025-12-31"}, ""},
	} {
		src := &fixedEvents{evs: reportEvents()}
		_, err := runReport(t, src, append([]string{"--as", "aud"}, c.args...)...)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.args, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: error %v, want %q", c.args, err, c.want)
		case c.want != "" && !src.to.IsZero():
			t.Errorf("%q: events fetched for a refused period", c.args)
		}
	}
}

// TestReportEventsFromANode: the report's event source fetches every page of the node's
// signed audit query API, as an auditor, and a patient's own disclosures as the patient.
func TestReportEventsFromANode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home, reg := nodetest.Init(t)
	n := nodetest.Start(t, home)
	cast := nodetest.RegisterCast(t, ctx, n.Client, reg)
	aud, dr, pat := cast.Auditor, cast.Provider, cast.Patient
	m, err := n.Client.PutRecord(ctx, dr, client.NewRecord{Patient: pat.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: []byte(`{"resourceType":"Observation"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Client.ReadRecord(ctx, dr, pat.ID, m.RecordID, "treatment"); err != nil {
		t.Fatal(err)
	}

	all, err := (&apiEvents{c: n.Client, who: aud}).Events(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := n.Node.View().LogSize(); uint64(len(all)) != want {
		t.Fatalf("auditor fetched %d events, the log holds %d", len(all), want)
	}
	src := &apiEvents{c: n.Client, who: pat, patient: pat.ID}
	var out bytes.Buffer
	if err := writeReport(ctx, src, reportOptions{patient: pat.ID, format: "json", rules: auditreport.DefaultRules(), now: time.Now()}, &out); err != nil {
		t.Fatal(err)
	}
	var a auditreport.Accounting
	if err := json.Unmarshal(out.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Disclosures) != 1 || a.Disclosures[0].Recipient.ID != dr.ID || a.Disclosures[0].Recipient.Name != "Dr" || a.PatientName != "" /* patients are pseudonymous on the ledger */ {
		t.Fatalf("the patient's own accounting: %s", out.Bytes())
	}
}
