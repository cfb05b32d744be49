package auditreport_test

import (
	"fmt"
	"github.com/ehrchain/ehrchain/internal/access"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/consent"
)

// Identities of the stories below.
const (
	drA     = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // provider, St Mary
	drB     = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" // provider, City Clinic
	pat     = "cccccccccccccccccccccccccccccccccccccccc"
	pat2    = "dddddddddddddddddddddddddddddddddddddddd"
	reg     = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" // registrar
	auditor = "ffffffffffffffffffffffffffffffffffffffff"
)

// t0 is a Tuesday, 10:00 UTC: inside default working hours.
var t0 = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

// ledger builds a ledger-like event slice: each event gets the next index and a height.
type ledger struct{ evs []*audit.Event }

func (l *ledger) add(at time.Time, e audit.Event) *audit.Event {
	e.Index = uint64(len(l.evs))
	e.Height = int64(len(l.evs) + 1)
	e.Time = at
	e.Kind = "event"
	if e.Outcome == "" {
		e.Outcome = audit.Success
	}
	l.evs = append(l.evs, &e)
	return &e
}

func read(actor, patient, record, purpose, outcome, reason string) audit.Event {
	role, org := "provider", "St Mary"
	if actor == drB {
		org = "City Clinic"
	}
	if actor == patient {
		role, org = "patient", ""
	}
	return audit.Event{Action: audit.RecordRead, Outcome: outcome, Actor: actor, ActorRole: role, Organization: org,
		Patient: patient, Record: record, Version: 1, Category: "general", ResourceType: "Observation", Purpose: purpose, Reason: reason}
}

func allowed(actor, patient, record string) audit.Event {
	return read(actor, patient, record, consent.Treatment, audit.Success, "allowed by grant g-1")
}

func denied(actor, patient, record string) audit.Event {
	return read(actor, patient, record, consent.Treatment, audit.Denied, "no consent covers this access")
}

// only returns the findings of one rule.
func only(as []auditreport.Anomaly, rule string) []auditreport.Anomaly {
	var out []auditreport.Anomaly
	for _, a := range as {
		if a.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

func detect(l *ledger, r auditreport.Rules, rule string) []auditreport.Anomaly {
	return only(auditreport.Detect(l.evs, r), rule)
}

func wantFindings(t *testing.T, got []auditreport.Anomaly, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d findings, want %d: %+v", len(got), n, got)
	}
}

func wantEvents(t *testing.T, a auditreport.Anomaly, idx ...uint64) {
	t.Helper()
	if !slices.Equal(a.Events, idx) {
		t.Fatalf("%s cites events %v, want %v", a.Rule, a.Events, idx)
	}
}

func TestDeniedAccess(t *testing.T) {
	var l ledger
	l.add(t0, allowed(drA, pat, "r-1"))
	d := l.add(t0.Add(time.Minute), denied(drB, pat, "r-1"))
	got := detect(&l, auditreport.DefaultRules(), auditreport.RuleDenied)
	wantFindings(t, got, 1)
	wantEvents(t, got[0], d.Index)
	if got[0].Actor != drB || got[0].Patient != pat || got[0].Severity != auditreport.SeverityLow || !got[0].First.Equal(d.Time) {
		t.Fatalf("finding %+v", got[0])
	}
}

func TestDeniedAccessNotRaisedForAllowed(t *testing.T) {
	var l ledger
	l.add(t0, allowed(drA, pat, "r-1"))
	l.add(t0, allowed(pat, pat, "r-1"))
	wantFindings(t, auditreport.Detect(l.evs, auditreport.DefaultRules()), 0)
}

func TestRepeatedDenials(t *testing.T) {
	var l ledger
	r := auditreport.DefaultRules() // 3 within 10 minutes
	l.add(t0, denied(drB, pat, "r-1"))
	l.add(t0.Add(4*time.Minute), denied(drB, pat, "r-2"))
	l.add(t0.Add(5*time.Minute), allowed(drA, pat, "r-1"))
	l.add(t0.Add(9*time.Minute), denied(drB, pat, "r-3"))
	l.add(t0.Add(12*time.Minute), denied(drB, pat, "r-4")) // overlaps the first burst: merged
	l.add(t0.Add(3*time.Hour), denied(drB, pat, "r-5"))    // far later, alone
	got := detect(&l, r, auditreport.RuleRepeatedDenials)
	wantFindings(t, got, 1)
	wantEvents(t, got[0], 0, 1, 3, 4)
	if got[0].Actor != drB || got[0].Severity != auditreport.SeverityHigh || got[0].Patient != pat {
		t.Fatalf("finding %+v", got[0])
	}
	if !got[0].First.Equal(t0) || !got[0].Last.Equal(t0.Add(12*time.Minute)) {
		t.Fatalf("span %s - %s", got[0].First, got[0].Last)
	}
}

func TestRepeatedDenialsNotRaised(t *testing.T) {
	r := auditreport.DefaultRules()
	t.Run("spread out", func(t *testing.T) {
		var l ledger
		for i := range 5 {
			l.add(t0.Add(time.Duration(i)*11*time.Minute), denied(drB, pat, "r-1"))
		}
		wantFindings(t, detect(&l, r, auditreport.RuleRepeatedDenials), 0)
	})
	t.Run("different actors", func(t *testing.T) {
		var l ledger
		l.add(t0, denied(drA, pat, "r-1"))
		l.add(t0.Add(time.Minute), denied(drB, pat, "r-1"))
		l.add(t0.Add(2*time.Minute), denied(auditor, pat, "r-1"))
		wantFindings(t, detect(&l, r, auditreport.RuleRepeatedDenials), 0)
	})
	t.Run("below threshold", func(t *testing.T) {
		var l ledger
		l.add(t0, denied(drB, pat, "r-1"))
		l.add(t0.Add(time.Minute), denied(drB, pat, "r-1"))
		l.add(t0.Add(2*time.Minute), allowed(drB, pat, "r-1"))
		wantFindings(t, detect(&l, r, auditreport.RuleRepeatedDenials), 0)
	})
}

func manyPatientRules() auditreport.Rules {
	r := auditreport.DefaultRules()
	r.ManyPatients, r.PatientWindow = 5, time.Hour
	return r
}

func TestManyPatients(t *testing.T) {
	var l ledger
	for i := range 5 {
		l.add(t0.Add(time.Duration(i)*10*time.Minute), allowed(drA, fmt.Sprintf("p%039d", i), "r"))
	}
	l.add(t0.Add(45*time.Minute), denied(drA, fmt.Sprintf("p%039d", 9), "r")) // denied attempts count too
	got := detect(&l, manyPatientRules(), auditreport.RuleManyPatients)
	wantFindings(t, got, 1)
	wantEvents(t, got[0], 0, 1, 2, 3, 4, 5)
	if got[0].Actor != drA || got[0].Patient != "" {
		t.Fatalf("finding %+v", got[0])
	}
}

func TestManyPatientsNotRaised(t *testing.T) {
	r := manyPatientRules()
	t.Run("slowly", func(t *testing.T) {
		var l ledger
		for i := range 10 {
			l.add(t0.Add(time.Duration(i)*20*time.Minute), allowed(drA, fmt.Sprintf("p%039d", i), "r"))
		}
		wantFindings(t, detect(&l, r, auditreport.RuleManyPatients), 0)
	})
	t.Run("one patient often", func(t *testing.T) {
		var l ledger
		for i := range 20 {
			l.add(t0.Add(time.Duration(i)*time.Minute), allowed(drA, pat, fmt.Sprintf("r-%d", i)))
		}
		wantFindings(t, detect(&l, r, auditreport.RuleManyPatients), 0)
	})
	t.Run("patients reading their own", func(t *testing.T) {
		var l ledger
		for i := range 10 {
			p := fmt.Sprintf("p%039d", i)
			l.add(t0.Add(time.Duration(i)*time.Minute), allowed(p, p, "r"))
		}
		wantFindings(t, detect(&l, r, auditreport.RuleManyPatients), 0)
	})
	t.Run("consents are not touches", func(t *testing.T) {
		var l ledger
		for i := range 10 {
			p := fmt.Sprintf("p%039d", i)
			l.add(t0.Add(time.Duration(i)*time.Minute), audit.Event{Action: audit.ConsentGrant, Actor: p, ActorRole: "patient", Patient: p, Subject: drA, Grant: "g"})
		}
		wantFindings(t, detect(&l, r, auditreport.RuleManyPatients), 0)
	})
}

// wrongPurpose is the ledger's own decision text for a read for a purpose the grant does
// not name.
func wrongPurpose(t *testing.T) string {
	g := &consent.Grant{ID: "g-42", Patient: pat, Grantee: drB, Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}}
	d := access.Decide(access.Facts{Time: t0, Actor: access.Actor{ID: drB, Role: access.ProviderRole, Active: true},
		Patient: access.Patient{ID: pat}, Record: &access.Record{ID: "r-1", Patient: pat, Category: "general"},
		Grants: consent.Facts([]*consent.Grant{g})}, access.Request{Action: access.Read, Purpose: consent.Research})
	if d.Allowed {
		t.Fatal("a research read under a treatment grant was allowed")
	}
	return d.Reason
}

func TestPurposeNotGranted(t *testing.T) {
	var l ledger
	e := l.add(t0, read(drB, pat, "r-1", consent.Research, audit.Denied, wrongPurpose(t)))
	got := detect(&l, auditreport.DefaultRules(), auditreport.RulePurposeNotGranted)
	wantFindings(t, got, 1)
	wantEvents(t, got[0], e.Index)
	if got[0].Actor != drB || got[0].Patient != pat || got[0].Severity != auditreport.SeverityMedium {
		t.Fatalf("finding %+v", got[0])
	}
}

func TestPurposeNotGrantedNotRaised(t *testing.T) {
	var l ledger
	l.add(t0, read(drB, pat, "r-1", consent.Research, audit.Denied, "no consent covers this access"))
	l.add(t0, read(drB, pat, "r-1", consent.Treatment, audit.Denied, "grant g-1 does not cover this record's category or type"))
	l.add(t0, read(drB, pat, "r-1", consent.Treatment, audit.Denied, "grant g-1 was revoked at height 9"))
	l.add(t0, read(drB, pat, "r-1", consent.Research, audit.Success, "allowed by grant g-2"))
	wantFindings(t, detect(&l, auditreport.DefaultRules(), auditreport.RulePurposeNotGranted), 0)
}

func TestAfterDeactivation(t *testing.T) {
	var l ledger
	l.add(t0, allowed(drA, pat, "r-1"))
	d := l.add(t0.Add(time.Minute), audit.Event{Action: audit.IdentityDeactivate, Actor: reg, ActorRole: "registrar", Subject: drA, Reason: "left"})
	late := l.add(t0.Add(2*time.Minute), read(drA, pat, "r-1", consent.Treatment, audit.Denied, fmt.Sprintf("requester was deactivated at height %d", d.Height)))
	got := detect(&l, auditreport.DefaultRules(), auditreport.RuleAfterDeactivation)
	wantFindings(t, got, 1)
	wantEvents(t, got[0], d.Index, late.Index)
	if got[0].Actor != drA || got[0].Severity != auditreport.SeverityHigh {
		t.Fatalf("finding %+v", got[0])
	}

	// The deactivation itself may lie before the events examined: the denial reason says it.
	got = only(auditreport.Detect(l.evs[2:], auditreport.DefaultRules()), auditreport.RuleAfterDeactivation)
	wantFindings(t, got, 1)
	wantEvents(t, got[0], late.Index)
}

func TestAfterDeactivationNotRaised(t *testing.T) {
	var l ledger
	l.add(t0, allowed(drA, pat, "r-1"))                                                                                       // before
	l.add(t0.Add(time.Minute), audit.Event{Action: audit.IdentityDeactivate, Actor: pat, ActorRole: "patient", Subject: pat}) // self
	l.add(t0.Add(2*time.Minute), allowed(drB, pat2, "r-2"))                                                                   // someone else
	l.add(t0.Add(3*time.Minute), audit.Event{Action: audit.IdentityDeactivate, Actor: reg, ActorRole: "registrar", Subject: drA})
	l.add(t0.Add(4*time.Minute), audit.Event{Action: audit.IdentityDeactivate, Actor: reg, ActorRole: "registrar", Subject: drB})
	wantFindings(t, detect(&l, auditreport.DefaultRules(), auditreport.RuleAfterDeactivation), 0)
}

func TestAfterKeyRotation(t *testing.T) {
	var l ledger
	l.add(t0, allowed(drA, pat, "r-1"))
	rot := l.add(t0.Add(time.Minute), audit.Event{Action: audit.IdentityRotate, Actor: drA, ActorRole: "provider", Subject: drA})
	after := l.add(t0.Add(2*time.Minute), allowed(drA, pat, "r-1"))
	got := detect(&l, auditreport.DefaultRules(), auditreport.RuleAfterRotation)
	wantFindings(t, got, 1)
	wantEvents(t, got[0], rot.Index, after.Index)
	if got[0].Actor != drA || got[0].Severity != auditreport.SeverityLow {
		t.Fatalf("finding %+v", got[0])
	}

	// Rotated by the registrar, then a denial: worth a closer look.
	rot2 := l.add(t0.Add(3*time.Minute), audit.Event{Action: audit.IdentityRotate, Actor: reg, ActorRole: "registrar", Subject: drB})
	den := l.add(t0.Add(4*time.Minute), denied(drB, pat, "r-1"))
	got = detect(&l, auditreport.DefaultRules(), auditreport.RuleAfterRotation)
	wantFindings(t, got, 2)
	wantEvents(t, got[1], rot2.Index, den.Index)
	if got[1].Actor != drB || got[1].Severity != auditreport.SeverityMedium {
		t.Fatalf("finding %+v", got[1])
	}
}

func TestAfterKeyRotationNotRaised(t *testing.T) {
	var l ledger
	l.add(t0, allowed(drA, pat, "r-1"))                                                                                    // before the rotation
	l.add(t0.Add(time.Minute), audit.Event{Action: audit.IdentityRotate, Actor: drA, ActorRole: "provider", Subject: drA}) // nothing after
	l.add(t0.Add(2*time.Minute), allowed(drB, pat, "r-1"))                                                                 // someone else
	wantFindings(t, detect(&l, auditreport.DefaultRules(), auditreport.RuleAfterRotation), 0)
}

func TestOutsideWorkingHours(t *testing.T) {
	var l ledger
	night := time.Date(2025, 3, 4, 2, 30, 0, 0, time.UTC)
	a := l.add(night, allowed(drA, pat, "r-1"))
	b := l.add(night.Add(time.Hour), denied(drA, pat2, "r-2"))
	l.add(night.Add(8*time.Hour), allowed(drA, pat, "r-1"))        // 10:30: in hours
	c := l.add(night.Add(20*time.Hour), allowed(drA, pat, "r-1"))  // 22:30: the same day, after hours
	d := l.add(night.Add(24*time.Hour), allowed(drA, pat, "r-1"))  // the next day
	e := l.add(night.Add(20*time.Hour), allowed(drB, pat2, "r-3")) // another actor
	got := detect(&l, auditreport.DefaultRules(), auditreport.RuleOutsideHours)
	wantFindings(t, got, 3) // per actor and day
	wantEvents(t, got[0], a.Index, b.Index, c.Index)
	wantEvents(t, got[1], e.Index)
	wantEvents(t, got[2], d.Index)
	if got[0].Actor != drA || got[0].Patient != "" || got[1].Actor != drB {
		t.Fatalf("findings %+v", got)
	}

	// The edges: the end hour is outside, the hour before the start too.
	var edges ledger
	edges.add(time.Date(2025, 3, 4, 19, 0, 0, 0, time.UTC), allowed(drA, pat, "r-1"))
	edges.add(time.Date(2025, 3, 5, 6, 59, 59, 0, time.UTC), allowed(drA, pat, "r-1"))
	got = detect(&edges, auditreport.DefaultRules(), auditreport.RuleOutsideHours)
	wantFindings(t, got, 2)

	// Night shift: working hours 22:00-06:00 wrap midnight.
	r := auditreport.DefaultRules()
	r.WorkStart, r.WorkEnd = 22, 6
	var n ledger
	n.add(night, allowed(drA, pat, "r-1"))
	noon := n.add(night.Add(10*time.Hour), allowed(drA, pat, "r-1"))
	got = detect(&n, r, auditreport.RuleOutsideHours)
	wantFindings(t, got, 1)
	wantEvents(t, got[0], noon.Index)
}

func TestOutsideWorkingHoursNotRaised(t *testing.T) {
	night := time.Date(2025, 3, 4, 2, 30, 0, 0, time.UTC)
	var l ledger
	l.add(t0, allowed(drA, pat, "r-1"))
	l.add(time.Date(2025, 3, 4, 7, 0, 0, 0, time.UTC), allowed(drA, pat, "r-1"))                          // first minute of the day
	l.add(time.Date(2025, 3, 4, 18, 59, 59, 0, time.UTC), allowed(drA, pat, "r-1"))                       // last second
	l.add(night, allowed(pat, pat, "r-1"))                                                                // a patient reading their own
	l.add(night, audit.Event{Action: audit.ConsentGrant, Actor: pat, ActorRole: "patient", Patient: pat}) // not a record access
	wantFindings(t, detect(&l, auditreport.DefaultRules(), auditreport.RuleOutsideHours), 0)

	// 02:30 UTC is 11:30 in Tokyo.
	r := auditreport.DefaultRules()
	r.Location = time.FixedZone("JST", 9*3600)
	var tk ledger
	tk.add(night, allowed(drA, pat, "r-1"))
	wantFindings(t, detect(&tk, r, auditreport.RuleOutsideHours), 0)

	// Equal start and end hours switch the rule off.
	r = auditreport.DefaultRules()
	r.WorkStart, r.WorkEnd = 0, 0
	var off ledger
	off.add(night, allowed(drA, pat, "r-1"))
	wantFindings(t, detect(&off, r, auditreport.RuleOutsideHours), 0)
}

func TestEmergencyAccess(t *testing.T) {
	var l ledger
	a := l.add(t0, read(drB, pat, "r-1", consent.Emergency, audit.Success, "allowed by grant g-9"))
	b := l.add(t0.Add(time.Minute), read(drA, pat, "r-1", consent.Emergency, audit.Denied, "no consent covers this access"))
	got := detect(&l, auditreport.DefaultRules(), auditreport.RuleEmergencyAccess)
	wantFindings(t, got, 2)
	wantEvents(t, got[0], a.Index)
	wantEvents(t, got[1], b.Index)
	if got[0].Severity != auditreport.SeverityMedium || got[0].Actor != drB || got[0].Patient != pat {
		t.Fatalf("finding %+v", got[0])
	}
}

func TestEmergencyAccessNotRaised(t *testing.T) {
	var l ledger
	l.add(t0, allowed(drB, pat, "r-1"))
	// A grant that names the emergency purpose is not itself an emergency access.
	l.add(t0, audit.Event{Action: audit.ConsentGrant, Actor: pat, ActorRole: "patient", Patient: pat, Subject: drB,
		Purpose: "treatment,emergency", Grant: "g-9", Reason: "read"})
	wantFindings(t, detect(&l, auditreport.DefaultRules(), auditreport.RuleEmergencyAccess), 0)
}

// TestDetectIsDeterministic: the same events in any order give the same findings, ordered
// by time.
func TestDetectIsDeterministic(t *testing.T) {
	var l ledger
	r := manyPatientRules()
	night := time.Date(2025, 3, 4, 23, 0, 0, 0, time.UTC)
	for i := range 6 {
		l.add(night.Add(time.Duration(i)*time.Minute), read(drB, fmt.Sprintf("p%039d", i), "r", consent.Emergency, audit.Denied, wrongPurpose(t)))
	}
	want := auditreport.Detect(l.evs, r)
	rules := map[string]bool{}
	for _, a := range want {
		rules[a.Rule] = true
	}
	for _, rule := range []string{auditreport.RuleDenied, auditreport.RuleRepeatedDenials, auditreport.RuleManyPatients, auditreport.RulePurposeNotGranted, auditreport.RuleOutsideHours, auditreport.RuleEmergencyAccess} {
		if !rules[rule] {
			t.Errorf("no %s finding", rule)
		}
	}
	for i := 1; i < len(want); i++ {
		if want[i].First.Before(want[i-1].First) {
			t.Fatalf("finding %d starts before finding %d", i, i-1)
		}
	}
	rev := slices.Clone(l.evs)
	slices.Reverse(rev)
	for range 3 {
		if got := auditreport.Detect(rev, r); !reflect.DeepEqual(got, want) {
			t.Fatalf("findings depend on the input order:\n%+v\nwant\n%+v", got, want)
		}
	}
}

func TestRulesValidate(t *testing.T) {
	if err := auditreport.DefaultRules().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*auditreport.Rules){
		func(r *auditreport.Rules) { r.RepeatedDenials = 1 },
		func(r *auditreport.Rules) { r.DenialWindow = 0 },
		func(r *auditreport.Rules) { r.ManyPatients = 0 },
		func(r *auditreport.Rules) { r.PatientWindow = -time.Second },
		func(r *auditreport.Rules) { r.WorkEnd = 25 },
	} {
		r := auditreport.DefaultRules()
		bad(&r)
		if r.Validate() == nil {
			t.Errorf("%+v accepted", r)
		}
	}
}
