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
