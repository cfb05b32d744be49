package auditreport_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/consent"
)

// clinicLog is a small but complete history: registrations, consent, writes, reads allowed
// and denied, a list, an amendment, a revocation and a deactivation, over three days with a
// quiet day in between.
func clinicLog() *ledger {
	var l ledger
	day1, day3 := t0, t0.AddDate(0, 0, 2)
	l.add(day1, audit.Event{Action: audit.IdentityRegister, Actor: reg, ActorRole: "registrar", Subject: drA, Organization: "St Mary", Reason: "provider"})
	l.add(day1, audit.Event{Action: audit.IdentityRegister, Actor: reg, ActorRole: "registrar", Subject: drB, Organization: "=HYPERLINK(\"x\")", Reason: "provider"})
	l.add(day1, audit.Event{Action: audit.IdentityRegister, Actor: drA, ActorRole: "provider", Subject: pat, Reason: "patient"})
	l.add(day1, audit.Event{Action: audit.KeysPublish, Actor: pat, ActorRole: "patient", Patient: pat, Category: "general"})
	l.add(day1.Add(time.Minute), audit.Event{Action: audit.RecordWrite, Actor: drA, ActorRole: "provider", Organization: "St Mary",
		Patient: pat, Record: "r-1", Version: 1, Category: "general", ResourceType: "Observation"})
	l.add(day1.Add(2*time.Minute), allowed(pat, pat, "r-1")) // the patient's own: not a disclosure
	l.add(day1.Add(3*time.Minute), read(drA, pat, "r-1", consent.Treatment, audit.Success, "the author of the record"))
	l.add(day1.Add(4*time.Minute), denied(drB, pat, "r-1")) // denied: disclosed nothing
	l.add(day1.Add(5*time.Minute), audit.Event{Action: audit.ConsentGrant, Actor: pat, ActorRole: "patient", Patient: pat, Subject: drB,
		Organization: "", Grant: "g-1", Purpose: "treatment", Category: "general", Reason: "read"})
	g := l.add(day3, read(drB, pat, "r-1", consent.Treatment, audit.Success, "allowed by grant g-1"))
	g.Grant, g.Version = "g-1", 2
	l.add(day3.Add(time.Minute), audit.Event{Action: audit.RecordList, Actor: drB, ActorRole: "provider", Organization: "City Clinic",
		Patient: pat, Purpose: consent.Treatment, Grant: "g-1", Reason: "allowed by grant g-1"})
	l.add(day3.Add(2*time.Minute), read(drB, pat2, "r-9", consent.Treatment, audit.Success, "allowed by grant g-7")) // another patient
	l.add(day3.Add(3*time.Minute), read(drB, pat, "r-1", consent.Research, audit.Denied, "grant g-1 does not permit the purpose \"research\""))
	l.add(day3.Add(4*time.Minute), audit.Event{Action: audit.ConsentRevoke, Actor: pat, ActorRole: "patient", Patient: pat, Subject: drB, Grant: "g-1", Category: "general"})
	l.add(day3.Add(5*time.Minute), audit.Event{Action: audit.IdentityDeactivate, Actor: reg, ActorRole: "registrar", Subject: drB, Reason: "left the clinic"})
	return &l
}

func TestAccountingOfDisclosures(t *testing.T) {
	l := clinicLog()
	a := auditreport.AccountingOfDisclosures(l.evs, pat, time.Time{}, t0.AddDate(0, 1, 0))
	var got []uint64
	for _, d := range a.Disclosures {
		got = append(got, d.Event)
	}
	// The author's read-back (6), B's read (9) and B's list (10); not the patient's own
	// read (5), not the denials (7, 12), not the other patient's record (11).
	if want := []uint64{6, 9, 10}; !slices.Equal(got, want) {
		t.Fatalf("disclosures %v, want %v", got, want)
	}
	d := a.Disclosures[1]
	if d.Recipient != (auditreport.Recipient{ID: drB, Role: "provider", Organization: "City Clinic"}) || d.Record != "r-1" || d.Version != 2 ||
		d.Category != "general" || d.ResourceType != "Observation" || d.Purpose != consent.Treatment || d.Grant != "g-1" || !d.Time.Equal(t0.AddDate(0, 0, 2)) {
		t.Fatalf("disclosure %+v", d)
	}
	if a.Disclosures[2].Action != audit.RecordList || a.Disclosures[2].Record != "" {
		t.Fatalf("list disclosure %+v", a.Disclosures[2])
	}
	if want := t0.AddDate(0, 1, 0).AddDate(-6, 0, 0); !a.From.Equal(want) {
		t.Fatalf("default period starts %s, want six years back: %s", a.From, want)
	}
}

func TestAccountingPeriod(t *testing.T) {
	var l ledger
	to := t0
	l.add(to.AddDate(-7, 0, 0), allowed(drA, pat, "old"))  // beyond six years
	l.add(to.AddDate(-5, 0, 0), allowed(drA, pat, "kept")) // within
	l.add(to, allowed(drA, pat, "at-end"))                 // the end is excluded
	a := auditreport.AccountingOfDisclosures(l.evs, pat, time.Time{}, to)
	if len(a.Disclosures) != 1 || a.Disclosures[0].Record != "kept" {
		t.Fatalf("disclosures %+v", a.Disclosures)
	}
	// No end: through the last event.
	a = auditreport.AccountingOfDisclosures(l.evs, pat, time.Time{}, time.Time{})
	if len(a.Disclosures) != 2 || a.Disclosures[1].Record != "at-end" {
		t.Fatalf("open-ended: %+v", a.Disclosures)
	}
	// An explicit start.
	a = auditreport.AccountingOfDisclosures(l.evs, pat, to.AddDate(-1, 0, 0), to.Add(time.Second))
	if len(a.Disclosures) != 1 || a.Disclosures[0].Record != "at-end" {
		t.Fatalf("last year: %+v", a.Disclosures)
	}
	if a := auditreport.AccountingOfDisclosures(nil, pat, time.Time{}, to); a.Disclosures == nil || len(a.Disclosures) != 0 {
		t.Fatalf("no events: %+v", a)
	}
}

func TestComplianceReport(t *testing.T) {
	l := clinicLog()
	c := auditreport.ComplianceReport(l.evs, t0.Add(-time.Hour), t0.AddDate(0, 0, 7), auditreport.DefaultRules())
	if c.Events != len(l.evs) {
		t.Fatalf("%d events, want %d", c.Events, len(l.evs))
	}
	counts := func(cs []auditreport.Count) map[string]int {
		m := map[string]int{}
		for _, c := range cs {
			m[c.Key] = c.Count
		}
		return m
	}
	if got := counts(c.ByOutcome); got[audit.Success] != 13 || got[audit.Denied] != 2 {
		t.Fatalf("by outcome %v", got)
	}
	if c.ByAction[0].Key != audit.IdentityRegister || c.ByAction[0].Count != 3 || counts(c.ByAction)[audit.RecordRead] != 6 {
		t.Fatalf("by action %+v", c.ByAction)
	}
	// Three days, the quiet one included.
	if len(c.PerDay) != 3 || c.PerDay[1] != (auditreport.Day{Date: "2025-03-05"}) || c.PerDay[0].Success != 8 || c.PerDay[0].Denied != 1 ||
		c.PerDay[2].Success != 5 || c.PerDay[2].Denied != 1 {
		t.Fatalf("per day %+v", c.PerDay)
	}
	if a := c.ByActor[0]; a.Actor != drB || a.Total != 5 || a.Denied != 2 || a.Patients != 2 || a.Organization != "=HYPERLINK(\"x\")" {
		t.Fatalf("busiest actor %+v", a)
	}
	if len(c.GrantsIssued) != 1 || c.GrantsIssued[0].Grant != "g-1" || c.GrantsIssued[0].Grantee != drB || c.GrantsIssued[0].Purposes != "treatment" ||
		len(c.GrantsRevoked) != 1 || c.GrantsRevoked[0].Grant != "g-1" {
		t.Fatalf("grants %+v / %+v", c.GrantsIssued, c.GrantsRevoked)
	}
	if len(c.IdentitiesAdded) != 3 || c.IdentitiesAdded[2].ID != pat || c.IdentitiesAdded[2].Role != "patient" || c.IdentitiesAdded[2].By != drA ||
		len(c.IdentitiesRemoved) != 1 || c.IdentitiesRemoved[0].ID != drB || c.IdentitiesRemoved[0].Role != "provider" || c.IdentitiesRemoved[0].Reason != "left the clinic" {
		t.Fatalf("identities %+v / %+v", c.IdentitiesAdded, c.IdentitiesRemoved)
	}
	rules := map[string]int{}
	for _, a := range c.Anomalies {
		rules[a.Rule]++
		for _, i := range a.Events {
			if c.Event(i) == nil {
				t.Errorf("anomaly %s cites event %d, which the report does not hold", a.Rule, i)
			}
		}
	}
	if rules[auditreport.RuleDenied] != 2 || rules[auditreport.RulePurposeNotGranted] != 1 {
		t.Fatalf("anomalies %v", rules)
	}

	// A period that excludes the first day keeps only what happened after it.
	c = auditreport.ComplianceReport(l.evs, t0.AddDate(0, 0, 1), t0.AddDate(0, 0, 7), auditreport.DefaultRules())
	if c.Events != 6 || len(c.IdentitiesAdded) != 0 || len(c.GrantsIssued) != 0 || len(c.GrantsRevoked) != 1 || len(c.PerDay) != 1 {
		t.Fatalf("later period: %d events, %+v", c.Events, c)
	}
	for _, a := range c.Anomalies {
		if a.Last.Before(c.From) {
			t.Errorf("anomaly %+v ended before the period", a)
		}
	}
}

func TestReportsJSON(t *testing.T) {
	l := clinicLog()
	var buf bytes.Buffer
	c := auditreport.ComplianceReport(l.evs, time.Time{}, time.Time{}, auditreport.DefaultRules())
	if err := c.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back auditreport.Compliance
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Events != c.Events || len(back.Anomalies) != len(c.Anomalies) || len(back.AnomalyEvents) == 0 || back.Rules.DenialWindow != "10m0s" {
		t.Fatalf("round trip lost data: %+v", back)
	}
	for _, key := range []string{`"by_action"`, `"per_day"`, `"by_actor"`, `"grants_issued"`, `"identities_removed"`, `"anomalies"`} {
		if !bytes.Contains(buf.Bytes(), []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	buf.Reset()
	a := auditreport.AccountingOfDisclosures(l.evs, pat, time.Time{}, time.Time{})
	if err := a.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var ab auditreport.Accounting
	if err := json.Unmarshal(buf.Bytes(), &ab); err != nil || len(ab.Disclosures) != 3 || ab.Disclosures[1].Recipient.Organization != "City Clinic" {
		t.Fatalf("accounting JSON: %v %+v", err, ab)
	}
}

func TestReportsCSV(t *testing.T) {
	l := clinicLog()
	var buf bytes.Buffer
	a := auditreport.AccountingOfDisclosures(l.evs, pat, time.Time{}, time.Time{})
	if err := a.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][0] != "date" || rows[2][3] != drB || rows[2][14] != "allowed by grant g-1" {
		t.Fatalf("disclosures CSV %q", rows)
	}

	buf.Reset()
	c := auditreport.ComplianceReport(l.evs, time.Time{}, time.Time{}, auditreport.DefaultRules())
	if err := c.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(l.evs)+1 || rows[0][0] != "event" || rows[0][19] != "anomalies" {
		t.Fatalf("event table: %d rows, header %q", len(rows), rows[0])
	}
	// A user-chosen organization that a spreadsheet would run as a formula stays text.
	if got := rows[2][9]; got != `'=HYPERLINK("x")` {
		t.Fatalf("organization cell %q", got)
	}
	// The wrong-purpose denial is flagged in its row.
	if got := rows[13][19]; !strings.Contains(got, auditreport.RuleDenied) || !strings.Contains(got, auditreport.RulePurposeNotGranted) {
		t.Fatalf("anomalies cell of event 12: %q", got)
	}
}

func TestReportsHTMLSelfContained(t *testing.T) {
	l := clinicLog()
	l.evs[1].Organization = `<script>alert(1)</script>`
	for name, write := range map[string]func(*bytes.Buffer) error{
		"compliance": func(b *bytes.Buffer) error {
			return auditreport.ComplianceReport(l.evs, time.Time{}, time.Time{}, auditreport.DefaultRules()).WriteHTML(b)
		},
		"accounting": func(b *bytes.Buffer) error {
			return auditreport.AccountingOfDisclosures(l.evs, pat, time.Time{}, time.Time{}).WriteHTML(b)
		},
	} {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		page := buf.String()
		for _, bad := range []string{"<script", " src=", "stylesheet", "https://", "@import", "url("} {
			if strings.Contains(page, bad) {
				t.Errorf("%s page holds %q", name, bad)
			}
		}
		if strings.Count(page, "http://") != strings.Count(page, `xmlns="http://www.w3.org/2000/svg"`) {
			t.Errorf("%s page refers to an http URL other than the SVG namespace", name)
		}
		if !strings.Contains(page, "<svg") || !strings.Contains(page, `<rect class="bar"`) {
			t.Errorf("%s page has no chart bars", name)
		}
	}
}

// TestFHIRBundle checks the codes of the export and that its shape agrees with the official
// HL7 R4 AuditEvent examples wherever the two use the same element.
func TestFHIRBundle(t *testing.T) {
	l := clinicLog()
	var buf bytes.Buffer
	if err := auditreport.ComplianceReport(l.evs, time.Time{}, time.Time{}, auditreport.DefaultRules()).WriteFHIR(&buf); err != nil {
		t.Fatal(err)
	}
	var b auditreport.Bundle
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if b.ResourceType != "Bundle" || b.Type != "collection" || len(b.Entry) != len(l.evs) {
		t.Fatalf("bundle %s/%s with %d entries", b.ResourceType, b.Type, len(b.Entry))
	}
	seen := map[string]bool{}
	for _, e := range b.Entry {
		if !strings.HasPrefix(e.FullURL, "urn:uuid:") || len(e.FullURL) != len("urn:uuid:")+36 || seen[e.FullURL] {
			t.Fatalf("full URL %q", e.FullURL)
		}
		seen[e.FullURL] = true
		if e.Resource.Recorded == "" || len(e.Resource.Agent) == 0 || !e.Resource.Agent[0].Requestor || e.Resource.Source.Observer.Display == "" {
			t.Fatalf("AuditEvent lacks a required element: %+v", e.Resource)
		}
	}
	byID := func(i int) *auditreport.AuditEvent { return b.Entry[i].Resource }

	rd := byID(9) // B's allowed read under g-1
	if rd.Type.System != auditreport.SystemDICOM || rd.Type.Code != "110110" || rd.Subtype[0].System != auditreport.SystemRestful ||
		rd.Subtype[0].Code != "read" || rd.Action != "R" || rd.Outcome != "0" ||
		rd.PurposeOfEvent[0].Coding[0] != (auditreport.Coding{System: auditreport.SystemActReason, Code: "TREAT", Display: "treatment"}) ||
		rd.Agent[0].Who.Identifier.Value != drB || !slices.Equal(rd.Agent[0].Policy, []string{"urn:ehrchain:grant:g-1"}) {
		t.Fatalf("read: %+v", rd)
	}
	if len(rd.Entity) != 2 || rd.Entity[0].Role.Code != "1" || rd.Entity[0].What.Identifier.Value != pat ||
		rd.Entity[1].What.Identifier.Value != "r-1" || rd.Entity[1].Lifecycle.Code != "6" {
		t.Fatalf("read entities: %+v", rd.Entity)
	}
	if d := byID(7); d.Outcome != "4" || d.OutcomeDesc != "no consent covers this access" {
		t.Fatalf("denied read: outcome %s %q", d.Outcome, d.OutcomeDesc)
	}
	if w := byID(4); w.Subtype[0].Code != "create" || w.Action != "C" || w.Entity[1].Lifecycle.Code != "1" {
		t.Fatalf("write: %+v", w)
	}
	if ls := byID(10); ls.Subtype[0].Code != "search" || ls.Action != "E" {
		t.Fatalf("list: %+v", ls)
	}
	if r := byID(0); r.Type.Code != "110113" || r.Subtype[0].Code != "110137" || r.Action != "C" || r.Entity[0].What.Identifier.Value != drA {
		t.Fatalf("registration: %+v", r)
	}
	if g := byID(8); g.Subtype[0].Code != "110135" || g.Entity[1].Type.Code != "Consent" || g.Entity[1].What.Identifier.Value != "g-1" {
		t.Fatalf("grant: %+v", g)
	}
	var emerg ledger
	emerg.add(t0, read(drA, pat, "r-1", consent.Emergency, audit.Success, "allowed by grant g-2"))
	if p := auditreport.FHIRAuditEvent(emerg.evs[0], nil).PurposeOfEvent[0].Coding[0]; p.Code != "ETREAT" {
		t.Fatalf("emergency purpose coded %+v", p)
	}

	// Shape: every element our export shares with an official example has the same JSON kind
	// (object, array, string, boolean), down to the leaves.
	var ours map[string]any
	if err := json.Unmarshal(buf.Bytes(), &ours); err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob("../../../shared/data/fhir-r4-examples/AuditEvent-*.json")
	if err != nil || len(examples) == 0 {
		t.Fatalf("official AuditEvent examples not found (../shared/data): %v", err)
	}
	for _, entry := range ours["entry"].([]any) {
		res := entry.(map[string]any)["resource"]
		for _, path := range examples {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var official any
			if err := json.Unmarshal(raw, &official); err != nil {
				t.Fatal(err)
			}
			sameShape(t, filepath.Base(path), "AuditEvent", res, official)
		}
	}
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	}
	return "null"
}

func sameShape(t *testing.T, example, path string, ours, official any) {
	t.Helper()
	if kind(ours) != kind(official) {
		t.Errorf("%s: ours is a JSON %s, %s has a %s", path, kind(ours), example, kind(official))
		return
	}
	switch o := ours.(type) {
	case map[string]any:
		for k, v := range o {
			if w, ok := official.(map[string]any)[k]; ok {
				sameShape(t, example, path+"."+k, v, w)
			}
		}
	case []any:
		off := official.([]any)
		for _, v := range o {
			for _, w := range off {
				if kind(v) == kind(w) {
					sameShape(t, example, path+"[]", v, w)
				}
			}
		}
	}
}
