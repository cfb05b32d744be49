package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
)

// syntheaDir holds the Synthea patients (see ../shared/data/README.md).
const syntheaDir = "../../../shared/data/synthea-r4"

// syntheaObservations returns n Observations of the first Synthea patient that has that
// many, as the JSON the bundle holds, and the file they came from.
func syntheaObservations(t *testing.T, n int) ([]json.RawMessage, string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Synthea bundles in %s (../shared/data is required): %v", syntheaDir, err)
	}
	slices.Sort(files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var obs []json.RawMessage
		for _, e := range b.Entry {
			var r struct {
				ResourceType string `json:"resourceType"`
			}
			if json.Unmarshal(e.Resource, &r) == nil && r.ResourceType == "Observation" {
				obs = append(obs, e.Resource)
			}
		}
		if len(obs) >= n {
			return obs[:n], filepath.Base(f)
		}
	}
	t.Fatalf("no Synthea patient with %d Observations", n)
	return nil, ""
}

// ledgerEvents reads every committed audit event with its log index, as an auditor's
// export would.
func (s *story) ledgerEvents() []*audit.Event {
	evs := s.events()
	for i, e := range evs {
		e.Index = uint64(i)
	}
	return evs
}

// disclosed reads a record that must be allowed and returns the event that recorded it.
func (s *story) disclosed(who *keys.Keystore, m *records.Meta, purpose string, want []byte) uint64 {
	s.t.Helper()
	r, err := s.c.ReadRecord(s.ctx, who, s.patient.ID, m.RecordID, purpose)
	if err != nil {
		s.t.Fatalf("read of %s by %s for %s: %v", m.RecordID, who.Name, purpose, err)
	}
	if !bytes.Equal(r.Plaintext, want) {
		s.t.Fatalf("read of %s by %s decrypted to something else", m.RecordID, who.Name)
	}
	return r.Outcome.Event
}

// TestAccountingOfDisclosuresListsExactlyTheReads: a provider imports a real Synthea
// patient's Observations; providers, the patient and an auditor then read, list and are
// denied. The accounting of disclosures lists exactly the allowed reads and lists by others:
// not the denied attempts and not the patient's own reads.
func TestAccountingOfDisclosuresListsExactlyTheReads(t *testing.T) {
	s := newStory(t)
	obs, file := syntheaObservations(t, 5)
	t.Logf("Observations of %s", file)
	var recs []*records.Meta
	for _, o := range obs {
		recs = append(recs, s.write(s.a, "general", "Observation", string(o)))
	}
	plain := func(i int) []byte { return obs[i] }

	var want []uint64 // events of the disclosures that happened, in order

	// Before any consent B is denied; the patient reads their own; A reads back what it wrote.
	s.mustDeny(s.b, recs[0], consent.Treatment, "no consent")
	s.disclosed(s.patient, recs[1], consent.Treatment, plain(1)) // not a disclosure
	want = append(want, s.disclosed(s.a, recs[0], consent.Treatment, plain(0)))

	// The patient grants B read for treatment: B reads two records (one twice) and lists.
	grant, err := s.c.Grant(s.ctx, s.patient, consent.Grant{Grantee: s.b.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}})
	s.must(err)
	want = append(want, s.disclosed(s.b, recs[2], consent.Treatment, plain(2)))
	want = append(want, s.disclosed(s.b, recs[3], consent.Treatment, plain(3)))
	want = append(want, s.disclosed(s.b, recs[2], consent.Treatment, plain(2)))
	q, err := s.c.NewReadRequest(s.ctx, s.b, s.patient.ID, "", consent.Treatment)
	s.must(err)
	list, err := s.c.SubmitRead(s.ctx, q)
	s.must(err)
	if !list.Outcome.Allowed || len(list.Records) != len(recs) {
		t.Fatalf("B's list: %+v, %d records", list.Outcome, len(list.Records))
	}
	want = append(want, list.Outcome.Event)

	// Denied: a purpose the grant does not name, an auditor (who reads no clinical content),
	// B after the revocation and B after its deactivation.
	s.mustDeny(s.b, recs[4], consent.Research, `does not permit the purpose "research"`)
	s.mustDeny(s.auditor, recs[0], consent.Operations, "no consent")
	s.disclosed(s.patient, recs[4], consent.Treatment, plain(4)) // not a disclosure
	s.must(s.c.Revoke(s.ctx, s.patient, grant))
	s.mustDeny(s.b, recs[2], consent.Treatment, "revoked")
	s.send(s.reg, &identity.Deactivate{ID: s.b.ID, Reason: "left the clinic"})
	_, err = s.read(s.b, recs[2], consent.Treatment)
	if !errors.Is(err, client.ErrDenied) || !strings.Contains(err.Error(), "deactivated") {
		t.Fatalf("read by deactivated B: %v", err)
	}

	events := s.ledgerEvents()
	acct := auditreport.AccountingOfDisclosures(events, s.patient.ID, time.Time{}, time.Time{})
	var got []uint64
	for _, d := range acct.Disclosures {
		got = append(got, d.Event)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("accounting lists events %v, want exactly the disclosures %v", got, want)
	}
	for i, d := range acct.Disclosures {
		e := events[d.Event]
		if d.Recipient.ID == s.patient.ID || e.Outcome != audit.Success || d.Purpose != consent.Treatment {
			t.Fatalf("disclosure %d: %+v", i, d)
		}
		switch {
		case i == 0:
			if d.Recipient != (auditreport.Recipient{ID: s.a.ID, Role: "provider", Organization: "St Mary"}) || d.Grant != "" || d.Basis != "the author of the record" || d.Record != recs[0].RecordID {
				t.Fatalf("A's read-back: %+v", d)
			}
		case d.Action == audit.RecordList:
			if d.Recipient.ID != s.b.ID || d.Grant != grant || d.Record != "" {
				t.Fatalf("B's list: %+v", d)
			}
		default:
			if d.Recipient != (auditreport.Recipient{ID: s.b.ID, Role: "provider", Organization: "City Clinic"}) || d.Grant != grant ||
				d.Version != 1 || d.Category != "general" || d.ResourceType != "Observation" {
				t.Fatalf("B's read: %+v", d)
			}
		}
	}

	// The same disclosures as a FHIR Bundle of AuditEvents.
	var buf bytes.Buffer
	s.must(acct.WriteFHIR(&buf))
	var bundle auditreport.Bundle
	s.must(json.Unmarshal(buf.Bytes(), &bundle))
	if bundle.Type != "collection" || len(bundle.Entry) != len(want) || bundle.Entry[1].Resource.Subtype[0].Code != "read" ||
		bundle.Entry[1].Resource.PurposeOfEvent[0].Coding[0].Code != "TREAT" {
		t.Fatalf("FHIR bundle: %s", buf.Bytes())
	}

	// The anomaly rules recognise the ledger's own decision texts.
	found := map[string][]uint64{}
	for _, a := range auditreport.Detect(events, auditreport.DefaultRules()) {
		if a.Actor == s.b.ID {
			found[a.Rule] = append(found[a.Rule], a.Events...)
		}
	}
	if len(found[auditreport.RulePurposeNotGranted]) != 1 || len(found[auditreport.RuleAfterDeactivation]) != 2 || len(found[auditreport.RuleDenied]) != 4 {
		t.Fatalf("anomalies of B: %v", found)
	}
	if e := events[found[auditreport.RuleAfterDeactivation][0]]; e.Action != audit.IdentityDeactivate || e.Subject != s.b.ID {
		t.Fatalf("after-deactivation cites %+v first, want B's deactivation", e)
	}

	// The compliance report over the whole story.
	c := auditreport.ComplianceReport(events, time.Time{}, time.Time{}, auditreport.DefaultRules())
	if c.Events != len(events) || len(c.GrantsIssued) != 1 || len(c.GrantsRevoked) != 1 || len(c.IdentitiesRemoved) != 1 ||
		c.IdentitiesRemoved[0].ID != s.b.ID || c.IdentitiesRemoved[0].Role != "provider" || len(c.IdentitiesAdded) != 5 {
		t.Fatalf("compliance report: %d events, %d/%d grants, %d/%d identities", c.Events, len(c.GrantsIssued), len(c.GrantsRevoked),
			len(c.IdentitiesAdded), len(c.IdentitiesRemoved))
	}
}
