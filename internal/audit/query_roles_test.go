package audit_test

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
)

// TestAuthorizeByRole uses identity's role names, so it also checks that audit spells them
// the same way.
func TestAuthorizeByRole(t *testing.T) {
	const me, other = "me", "other"
	type want struct {
		ok     bool
		scoped audit.Filter // the filter applied, when ok
	}
	for _, c := range []struct {
		name string
		role identity.Role
		f    audit.Filter
		want want
	}{
		{"auditor sees all", identity.Auditor, audit.Filter{}, want{true, audit.Filter{}}},
		{"auditor asks about anyone", identity.Auditor, audit.Filter{Patient: other, Actor: other}, want{true, audit.Filter{Patient: other, Actor: other}}},
		{"patient: events about themself", identity.Patient, audit.Filter{}, want{true, audit.Filter{Patient: me}}},
		{"patient names themself", identity.Patient, audit.Filter{Patient: me, Actor: other}, want{true, audit.Filter{Patient: me, Actor: other}}},
		{"patient asks about another patient", identity.Patient, audit.Filter{Patient: other}, want{}},
		{"provider: own actions", identity.Provider, audit.Filter{Patient: other}, want{true, audit.Filter{Patient: other, Actor: me}}},
		{"provider asks for another's trail", identity.Provider, audit.Filter{Actor: other}, want{}},
		{"insurer: own actions", identity.Insurer, audit.Filter{}, want{true, audit.Filter{Actor: me}}},
		{"insurer asks for another's trail", identity.Insurer, audit.Filter{Actor: other}, want{}},
		{"manufacturer: own actions", identity.Manufacturer, audit.Filter{}, want{true, audit.Filter{Actor: me}}},
		{"wholesaler asks for another's trail", identity.Wholesaler, audit.Filter{Actor: other}, want{}},
		{"regulator: own actions, not the health-record trail", identity.Regulator, audit.Filter{Patient: other}, want{true, audit.Filter{Patient: other, Actor: me}}},
		{"registrar: identity events", identity.Registrar, audit.Filter{}, want{true, audit.Filter{Action: "identity.*"}}},
		{"registrar: one identity action", identity.Registrar, audit.Filter{Action: audit.IdentityRotate, Actor: other}, want{true, audit.Filter{Action: audit.IdentityRotate, Actor: other}}},
		{"registrar asks for reads", identity.Registrar, audit.Filter{Action: audit.RecordRead}, want{}},
		{"registrar asks for a record family", identity.Registrar, audit.Filter{Action: "record.*"}, want{}},
		{"unknown role", identity.Role("janitor"), audit.Filter{}, want{}},
		{"no role", identity.Role(""), audit.Filter{}, want{}},
	} {
		got, err := audit.Authorize(audit.Requester{ID: me, Role: string(c.role), Active: true}, c.f)
		if !c.want.ok {
			if err == nil || err.Codespace != string(audit.Space) || err.Code != audit.CodeUnauthorized {
				t.Errorf("%s: want audit/%d, got %v (%+v)", c.name, audit.CodeUnauthorized, err, got)
			}
			continue
		}
		if err != nil || got != c.want.scoped {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want.scoped)
		}
	}
	for _, r := range identity.Roles {
		if _, err := audit.Authorize(audit.Requester{ID: me, Role: string(r), Active: true}, audit.Filter{}); err != nil {
			t.Errorf("role %s cannot query at all: %v", r, err)
		}
	}
}
