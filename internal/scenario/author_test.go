package scenario

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
)

// TestAuthorIsBoundByPurpose: the provider who wrote a record reads it back for treatment
// and operations on her own authority, but for research only with the patient's research
// consent; the denied research read is on the ledger with the rule that denied it, and the
// allowed one names the grant that allowed it.
func TestAuthorIsBoundByPurpose(t *testing.T) {
	s := newStory(t)
	obs := `{"resourceType":"Observation","status":"final"}`
	r1 := s.write(s.a, "general", "Observation", obs)

	// The patient consents to treatment only.
	_, err := s.c.Grant(s.ctx, s.patient, consent.Grant{Grantee: s.a.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}})
	s.must(err)
	s.mustRead(s.a, r1, consent.Treatment, obs)
	s.mustRead(s.a, r1, consent.Operations, obs)

	// The author's research read is refused and audited as a wrong-purpose denial.
	s.mustDeny(s.a, r1, consent.Research, `does not permit the purpose "research"`)
	readsBy := func(outcome string) []*audit.Event {
		var out []*audit.Event
		for _, e := range s.events() {
			if e.Action == audit.RecordRead && e.Actor == s.a.ID && e.Record == r1.RecordID && e.Purpose == consent.Research && e.Outcome == outcome {
				out = append(out, e)
			}
		}
		return out
	}
	denied := readsBy(audit.Denied)
	if len(denied) != 1 || denied[0].Rule != string(access.WrongPurpose) || denied[0].Patient != s.patient.ID {
		t.Fatalf("audited research denials of the author: %+v, want one with rule %q", denied, access.WrongPurpose)
	}
	// Nor does listing for research let her see the record.
	if _, err := s.c.ListRecords(s.ctx, s.a, s.patient.ID, consent.Research); err == nil {
		t.Fatal("the author listed the patient's records for research without consent")
	}

	// The allowed treatment reads name the rule: authorship.
	for _, e := range s.events() {
		if e.Action == audit.RecordRead && e.Actor == s.a.ID && e.Outcome == audit.Success && e.Rule != string(access.Author) {
			t.Fatalf("an allowed read by the author names rule %q, want %q", e.Rule, access.Author)
		}
	}

	// With the patient's research consent she may, and the event names that grant.
	research, err := s.c.Grant(s.ctx, s.patient, consent.Grant{Grantee: s.a.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Research}})
	s.must(err)
	s.mustRead(s.a, r1, consent.Research, obs)
	allowed := readsBy(audit.Success)
	if len(allowed) != 1 || allowed[0].Rule != string(access.Granted) || allowed[0].Grant != research {
		t.Fatalf("audited research reads: %+v, want one allowed by grant %s", allowed, research)
	}
	list, err := s.c.ListRecords(s.ctx, s.a, s.patient.ID, consent.Research)
	s.must(err)
	if len(list) != 1 || list[0].RecordID != r1.RecordID {
		t.Fatalf("the author lists %d records for research, want r1", len(list))
	}

	// Her write for the patient she registered names the care relationship.
	for _, e := range s.events() {
		if e.Action == audit.RecordWrite && e.Record == r1.RecordID && e.Rule != string(access.Care) {
			t.Fatalf("the write of r1 names rule %q, want %q", e.Rule, access.Care)
		}
	}
}
