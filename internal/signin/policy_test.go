package signin

import (
	"testing"
	"time"
)

// TestDecide: one case a line, every rule and every reason, and which of two refusals wins.
func TestDecide(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	lim := Limits{MaxFailures: 5, MaxPerRemote: 20, Window: 15 * time.Minute}
	run := func(n int, ago time.Duration) Failures { return Failures{Count: n, Last: now.Add(-ago)} }
	patient := Facts{Entry: Gateway, Now: now, Known: true, Active: true, Role: RolePatient, TOTP: true}
	with := func(f Facts, change func(*Facts)) Facts { change(&f); return f }
	for _, c := range []struct {
		name  string
		facts Facts
		want  Reason
		until time.Time
	}{
		{"zero facts refuse", Facts{}, Undecided, time.Time{}},
		{"no entry point refuses", with(patient, func(f *Facts) { f.Entry = 0 }), Undecided, time.Time{}},
		{"patient with a factor", patient, Allowed, time.Time{}},
		{"patient without a factor", with(patient, func(f *Facts) { f.TOTP = false }), NoSecondFactor, time.Time{}},
		{"provider unlocked with a factor", with(patient, func(f *Facts) { f.Role, f.Unlocked = RoleProvider, true }), Allowed, time.Time{}},
		{"provider unlocked without a factor", with(patient, func(f *Facts) { f.Role, f.Unlocked, f.TOTP = RoleProvider, true, false }), NoSecondFactor, time.Time{}},
		{"provider not unlocked", with(patient, func(f *Facts) { f.Role = RoleProvider }), ProviderNotUnlocked, time.Time{}},
		{"registrar at the gateway", with(patient, func(f *Facts) { f.Role, f.Unlocked = RoleRegistrar, true }), RegistrarRefused, time.Time{}},
		{"auditor at the gateway", with(patient, func(f *Facts) { f.Role, f.Unlocked = RoleAuditor, true }), ServiceRoleRefused, time.Time{}},
		{"insurer at the gateway", with(patient, func(f *Facts) { f.Role, f.Unlocked = RoleInsurer, true }), ServiceRoleRefused, time.Time{}},
		{"unknown role at the gateway", with(patient, func(f *Facts) { f.Role = "janitor" }), Undecided, time.Time{}},
		{"unknown name", with(patient, func(f *Facts) { f.Known = false }), Unknown, time.Time{}},
		{"deactivated", with(patient, func(f *Facts) { f.Active = false }), Deactivated, time.Time{}},
		{"four failures do not lock", with(patient, func(f *Facts) { f.Identity = run(4, time.Second) }), Allowed, time.Time{}},
		{"five failures lock", with(patient, func(f *Facts) { f.Identity = run(5, time.Minute) }), Locked, now.Add(14 * time.Minute)},
		{"the lock ends a window after the last failure", with(patient, func(f *Facts) { f.Identity = run(9, 15*time.Minute) }), Allowed, time.Time{}},
		{"an unknown name locks like a real one", with(patient, func(f *Facts) { f.Known, f.Identity = false, run(5, 0) }), Locked, now.Add(15 * time.Minute)},
		{"the client address locks", with(patient, func(f *Facts) { f.Remote = run(20, time.Minute) }), Locked, now.Add(14 * time.Minute)},
		{"19 from one address do not", with(patient, func(f *Facts) { f.Remote = run(19, time.Minute) }), Allowed, time.Time{}},
		{"the later lock is told", with(patient, func(f *Facts) { f.Identity, f.Remote = run(5, 10*time.Minute), run(20, time.Minute) }), Locked, now.Add(14 * time.Minute)},
		{"lock beats the registrar refusal", with(patient, func(f *Facts) { f.Role, f.Identity = RoleRegistrar, run(5, 0) }), Locked, now.Add(15 * time.Minute)},
		{"deactivation beats the role", with(patient, func(f *Facts) { f.Role, f.Active = RoleRegistrar, false }), Deactivated, time.Time{}},
		{"role beats the missing factor", with(patient, func(f *Facts) { f.Role, f.TOTP = RoleAuditor, false }), ServiceRoleRefused, time.Time{}},
		{"portal: patient without a factor enrols", with(patient, func(f *Facts) { f.Entry, f.TOTP = Portal, false }), Allowed, time.Time{}},
		{"portal: provider not unlocked", with(patient, func(f *Facts) { f.Entry, f.Role = Portal, RoleProvider }), Allowed, time.Time{}},
		{"portal: registrar manages its sign-in", with(patient, func(f *Facts) { f.Entry, f.Role = Portal, RoleRegistrar }), Allowed, time.Time{}},
		{"portal: locked", with(patient, func(f *Facts) { f.Entry, f.Identity = Portal, run(5, 0) }), Locked, now.Add(15 * time.Minute)},
		{"portal: unknown name", with(patient, func(f *Facts) { f.Entry, f.Known = Portal, false }), Unknown, time.Time{}},
		{"portal: deactivated", with(patient, func(f *Facts) { f.Entry, f.Active = Portal, false }), Deactivated, time.Time{}},
	} {
		d := Decide(c.facts, lim)
		if d.Reason != c.want || d.Allowed != (c.want == Allowed) || !d.Until.Equal(c.until) {
			t.Errorf("%s: %v allowed=%v until %v, want %v until %v", c.name, d.Reason, d.Allowed, d.Until, c.want, c.until)
		}
		if d.Message() == "" || d.Reason.String() == "" {
			t.Errorf("%s: no message", c.name)
		}
	}
	if (Decision{}).Allowed {
		t.Error("the zero decision allows")
	}
}

// TestDecideDefaults: zero limits are the documented defaults, never "no limit".
func TestDecideDefaults(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	f := Facts{Entry: Gateway, Now: now, Known: true, Active: true, Role: RolePatient, TOTP: true, Identity: Failures{Count: 5, Last: now}}
	if d := Decide(f, Limits{}); d.Reason != Locked || !d.Until.Equal(now.Add(15*time.Minute)) {
		t.Fatalf("default limits: %v until %v", d.Reason, d.Until)
	}
	f.Identity, f.Remote = Failures{}, Failures{Count: 20, Last: now}
	if d := Decide(f, Limits{}); d.Reason != Locked {
		t.Fatalf("default per-address limit: %v", d.Reason)
	}
}

// TestFailuresRun: failures add up while each comes within a window of the last; a gap of a
// window starts a new run.
func TestFailuresRun(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := time.Minute
	var f Failures
	for i := range 3 {
		f = f.Add(t0.Add(time.Duration(i)*50*time.Second), w)
	}
	if f.Count != 3 || !f.Last.Equal(t0.Add(100*time.Second)) {
		t.Fatalf("run %+v", f)
	}
	if f = f.Add(t0.Add(160*time.Second), w); f.Count != 1 {
		t.Fatalf("a failure a window after the last did not start a new run: %+v", f)
	}
}
