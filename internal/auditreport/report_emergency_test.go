package auditreport

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
)

func TestEmergencyAccessesFollowTheDeclaration(t *testing.T) {
	at := time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC)
	ev := func(i uint64, action, outcome, actor, decl, reason string) *audit.Event {
		return &audit.Event{Index: i, Height: int64(i + 1), Time: at.Add(time.Duration(i) * time.Minute), Action: action, Outcome: outcome,
			Actor: actor, Patient: "pat", Purpose: "emergency", Emergency: decl, Reason: reason, Organization: "Inst " + actor}
	}
	events := []*audit.Event{
		ev(0, audit.RecordRead, audit.Denied, "er", "", "break-glass denied: no emergency declaration"),
		ev(1, audit.EmergencyDeclare, audit.Success, "er", "e-1", "unconscious"),
		ev(2, audit.EmergencyRelease, audit.Success, "c1", "e-1", ""),
		ev(3, audit.EmergencyRelease, audit.Success, "c2", "e-1", ""),
		ev(4, audit.RecordRead, audit.Success, "er", "e-1", "break-glass"),
		ev(5, audit.RecordRead, audit.Success, "er", "e-1", "break-glass"),
		ev(6, audit.RecordWrite, audit.Success, "er", "e-1", ""),
		ev(7, audit.EmergencyRelease, audit.Denied, "c3", "e-1", ""), // not counted: not a success
		ev(8, audit.EmergencyDeclare, audit.Success, "er2", "e-2", "cardiac arrest"),
		ev(9, audit.EmergencyJustify, audit.Success, "er", "e-1", "GCS 6"),
		ev(10, audit.EmergencyReview, audit.Success, "aud", "e-1", "appropriate"),
		ev(11, audit.RecordRead, audit.Success, "er", "e-9", ""), // names no known declaration
	}
	acc, denied := EmergencyAccesses(events, map[string]string{"er": "Dr ER"})
	if len(acc) != 2 || len(denied) != 1 || denied[0].Index != 0 {
		t.Fatalf("%d accesses, %d denied", len(acc), len(denied))
	}
	a, b := acc[0], acc[1]
	if a.Declaration != "e-1" || a.ProviderName != "Dr ER" || a.Releases != 2 || a.Reads != 2 || a.Writes != 1 ||
		a.Status != Reviewed || a.Verdict != "appropriate" || a.Reviewer != "aud" || a.Justification != "GCS 6" || len(a.Custodians) != 2 {
		t.Fatalf("e-1: %+v", a)
	}
	if b.Declaration != "e-2" || b.Status != AwaitingJustification || b.Reads != 0 {
		t.Fatalf("e-2: %+v", b)
	}

	c := ComplianceReport(events, time.Time{}, time.Time{}, DefaultRules())
	flagged := map[uint64]bool{}
	for _, an := range c.Anomalies {
		if an.Rule == RuleEmergencyAccess {
			flagged[an.Events[0]] = true
		}
	}
	for _, i := range []uint64{0, 1, 4, 5, 6, 8} { // the denied attempt, both declarations, the reads and the write
		if !flagged[i] {
			t.Fatalf("event %d is not flagged as an emergency access (flagged: %v)", i, flagged)
		}
	}
	c.SetNames(map[string]string{"er": "Dr ER", "er2": "Dr Two"})
	var html bytes.Buffer
	if err := c.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	out := html.String()
	for _, want := range []string{`id="emergencies"`, `data-status="reviewed"`, `data-status="awaiting justification"`, "e-2", "cardiac arrest", `id="break-glass-denied"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("HTML report lacks %q", want)
		}
	}
	acct := AccountingOfDisclosures(events, "pat", time.Time{}, time.Time{})
	if len(acct.Disclosures) != 3 || acct.Disclosures[0].Emergency != "e-1" || acct.Disclosures[0].Purpose != "emergency" {
		t.Fatalf("the patient's accounting of disclosures: %+v", acct.Disclosures)
	}
	ae := FHIRAuditEvent(events[4], nil)
	found := false
	for _, s := range ae.Subtype {
		found = found || s.Code == "110127"
	}
	if !found || ae.PurposeOfEvent[0].Coding[0].Code != "ETREAT" || len(ae.Agent[0].Policy) != 1 || ae.Agent[0].Policy[0] != SystemEmergency+":e-1" {
		t.Fatalf("break-glass read as FHIR: %+v", ae)
	}
	if ae := FHIRAuditEvent(events[0], nil); len(ae.Subtype) != 2 || ae.Outcome == fhirOutcomeOK {
		t.Fatalf("a denied break-glass attempt is marked as an override: %+v", ae.Subtype)
	}
}
