package trials

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// TestEnrolmentsVisible: who sees a trial's enrolments, one case a line.
func TestEnrolmentsVisible(t *testing.T) {
	tr := &Trial{ID: "T", Sponsor: "spon", IRB: "irb"}
	v := &Version{Protocol: Protocol{Sites: []Site{{Name: "A", Investigator: "dr"}}}}
	who := func(id string, role identity.Role, active bool) *identity.Identity {
		return &identity.Identity{ID: id, Role: role, Active: active}
	}
	for _, tc := range []struct {
		name    string
		who     *identity.Identity
		all, ok bool
		own     string
	}{
		{"unsigned", nil, false, false, ""},
		{"the sponsor", who("spon", identity.Provider, true), true, true, ""},
		{"the IRB", who("irb", identity.Auditor, true), true, true, ""},
		{"another auditor (the regulator)", who("reg", identity.Auditor, true), true, true, ""},
		{"a site investigator", who("dr", identity.Provider, true), true, true, ""},
		{"a provider of no site", who("dr2", identity.Provider, true), false, false, ""},
		{"a patient: their own only", who("pat", identity.Patient, true), false, true, "pat"},
		{"an insurer", who("ins", identity.Insurer, true), false, false, ""},
		{"a deactivated sponsor", who("spon", identity.Provider, false), false, false, ""},
	} {
		all, own, ok := EnrolmentsVisible(tr, v, tc.who)
		if all != tc.all || own != tc.own || ok != tc.ok {
			t.Errorf("%s: all=%v own=%q ok=%v", tc.name, all, own, ok)
		}
	}
}

// TestSubjectsVisible: who sees a trial's ResearchSubjects and who sees them by identity.
func TestSubjectsVisible(t *testing.T) {
	tr := &Trial{ID: "T", Sponsor: "spon", IRB: "irb"}
	v := &Version{Protocol: Protocol{Sites: []Site{{Name: "A", Investigator: "dr"}, {Name: "B", Investigator: "spon"}}}}
	who := func(id string, role identity.Role, active bool) *identity.Identity {
		return &identity.Identity{ID: id, Role: role, Active: active}
	}
	for _, tc := range []struct {
		name string
		who  *identity.Identity
		want SubjectView
		ok   bool
	}{
		{"unsigned", nil, SubjectView{}, false},
		{"the sponsor (also an investigator): codes only", who("spon", identity.Provider, true), SubjectView{All: true}, true},
		{"a site investigator: codes only", who("dr", identity.Provider, true), SubjectView{All: true}, true},
		{"the IRB: by identity", who("irb", identity.Auditor, true), SubjectView{All: true, Identified: true}, true},
		{"the regulator: by identity", who("reg", identity.Auditor, true), SubjectView{All: true, Identified: true}, true},
		{"a patient: their own, by identity", who("pat", identity.Patient, true), SubjectView{Own: "pat", Identified: true}, true},
		{"a provider of no site", who("dr2", identity.Provider, true), SubjectView{}, false},
		{"an insurer", who("ins", identity.Insurer, true), SubjectView{}, false},
		{"a deactivated auditor", who("reg", identity.Auditor, false), SubjectView{}, false},
	} {
		got, ok := SubjectsVisible(tr, v, tc.who)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %+v ok=%v, want %+v ok=%v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
