package identity

import (
	"strings"
	"testing"
)

func TestParseRoleKnowsTheTradingPartners(t *testing.T) {
	for _, r := range []Role{Manufacturer, Repackager, Wholesaler, Dispenser, Regulator} {
		if got, err := ParseRole(string(r)); err != nil || got != r || !TradingPartner(r) {
			t.Errorf("%s: %v %v", r, got, err)
		}
	}
	for _, r := range []Role{Registrar, Provider, Patient, Auditor, Insurer} {
		if TradingPartner(r) {
			t.Errorf("%s counted as a trading partner", r)
		}
	}
	_, err := ParseRole("distributor")
	if err == nil || !strings.Contains(err.Error(), "wholesaler") || !strings.Contains(err.Error(), "regulator") {
		t.Fatalf("unknown role: %v (want the list of roles)", err)
	}
}
