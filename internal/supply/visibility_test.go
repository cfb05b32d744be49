package supply

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
)

func TestMayReadIsTheCapturerOrARegulator(t *testing.T) {
	ev := &StoredEvent{CapturedBy: "acme"}
	for _, c := range []struct {
		name string
		who  *identity.Identity
		ok   bool
	}{
		{"the capturer", &identity.Identity{ID: "acme", Role: identity.Manufacturer, Active: true}, true},
		{"a regulator", &identity.Identity{ID: "fda", Role: identity.Regulator, Active: true}, true},
		{"a deactivated capturer", &identity.Identity{ID: "acme", Role: identity.Manufacturer}, false},
		{"a deactivated regulator", &identity.Identity{ID: "fda", Role: identity.Regulator}, false},
		{"a competitor", &identity.Identity{ID: "globex", Role: identity.Manufacturer, Active: true}, false},
		{"an auditor of health records", &identity.Identity{ID: "aud", Role: identity.Auditor, Active: true}, false},
		{"nobody", nil, false},
	} {
		if got := MayRead(c.who, ev); got != c.ok {
			t.Errorf("%s: %v, want %v", c.name, got, c.ok)
		}
	}
	if MayRead(&identity.Identity{ID: "acme", Active: true}, nil) {
		t.Error("a missing event is readable")
	}
}
