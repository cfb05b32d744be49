package signin

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServiceLockoutSurvivesReopen: an identity's failures are on disk before Fail returns, so
// a reopened service (a restarted node) still locks it; an unknown name and a client address
// are counted in memory; a complete sign-in ends the identity's run only.
func TestServiceLockoutSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	lim := Limits{MaxFailures: 3, Window: time.Minute}
	s, err := Open(dir, lim)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	for range 3 {
		if err := s.Fail("id1", "alice", "10.0.0.1", now); err != nil {
			t.Fatal(err)
		}
		if err := s.Fail("", "nobody", "10.0.0.2", now); err != nil {
			t.Fatal(err)
		}
	}
	facts := func(s *Service, id, name, remote string) Facts {
		f := Facts{Entry: Portal, Now: now.Add(time.Second), Known: true, Active: true, Role: RolePatient}
		f.Identity, f.Remote = s.Failures(id, name, remote)
		return f
	}
	if d := Decide(facts(s, "", "nobody", "10.9.9.9"), s.Limits()); d.Reason != Locked {
		t.Errorf("unknown name after 3 failures: %v", d.Reason)
	}
	s.Close()

	re, err := Open(dir, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	if d := Decide(facts(re, "id1", "alice", "10.9.9.9"), re.Limits()); d.Reason != Locked || !d.Until.Equal(now.Add(time.Minute)) {
		t.Fatalf("after reopen: %v until %v, want locked until %v", d.Reason, d.Until, now.Add(time.Minute))
	}
	if re.Factors().Get("id1").Enrolled() {
		t.Error("a failure enrolled a factor")
	}
	if err := re.Succeed("id1"); err != nil {
		t.Fatal(err)
	}
	if d := Decide(facts(re, "id1", "alice", "10.9.9.9"), re.Limits()); d.Reason != Allowed {
		t.Errorf("after a complete sign-in: %v", d.Reason)
	}
	// Lines recorded by both openings are one intact chain.
	re.Record(Event{Event: EvSignIn, Entry: "fhir", Name: "alice", ID: "id1"})
	evs, broken, err := re.Recent(10)
	if err != nil || broken != 0 || len(evs) != 1 || evs[0].Entry != "fhir" {
		t.Fatalf("log: %+v broken %d %v", evs, broken, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "factors.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("factors.json: %v", err)
	}
}
