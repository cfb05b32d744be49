package admission

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// A trading partner is not silently held to the patient's budget, the smallest.
func TestTradingPartnersGetTheProvidersBudget(t *testing.T) {
	b := Defaults()
	for _, r := range identity.Roles {
		if !identity.TradingPartner(r) {
			continue
		}
		if got := b.For(r); got != b.Provider {
			t.Errorf("%s: budget %+v, want the provider's %+v", r, got, b.Provider)
		}
	}
}
