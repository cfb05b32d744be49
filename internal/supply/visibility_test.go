package supply

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
)

func TestMayReadIsTheCapturerACustodianOrARegulator(t *testing.T) {
	ev := &StoredEvent{CapturedBy: "acme"}
	for _, c := range []struct {
		name string
		who  *identity.Identity
		ok   bool
		in   bool // in the custody of an item the event names
	}{
		{"the capturer", &identity.Identity{ID: "acme", Role: identity.Manufacturer, Active: true}, true, false},
		{"a regulator", &identity.Identity{ID: "fda", Role: identity.Regulator, Active: true}, true, false},
		{"a deactivated capturer", &identity.Identity{ID: "acme", Role: identity.Manufacturer}, false, false},
		{"a deactivated regulator", &identity.Identity{ID: "fda", Role: identity.Regulator}, false, false},
		{"a competitor", &identity.Identity{ID: "globex", Role: identity.Manufacturer, Active: true}, false, false},
		{"an auditor of health records", &identity.Identity{ID: "aud", Role: identity.Auditor, Active: true}, false, false},
		{"nobody", nil, false, false},
		{"a receiver of the item", &identity.Identity{ID: "mck", Role: identity.Wholesaler, Active: true}, true, true},
		{"a deactivated receiver", &identity.Identity{ID: "mck", Role: identity.Wholesaler}, false, true},
		{"a custodian no longer a partner role", &identity.Identity{ID: "aud", Role: identity.Auditor, Active: true}, false, true},
	} {
		if got := MayRead(c.who, ev, c.in); got != c.ok {
			t.Errorf("%s: %v, want %v", c.name, got, c.ok)
		}
	}
	if MayRead(&identity.Identity{ID: "acme", Active: true}, nil, true) {
		t.Error("a missing event is readable")
	}
}
