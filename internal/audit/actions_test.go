package audit

import "testing"

// TestErasureAndTrialActionsFilterable: a filter on an action the ledger records must be
// accepted, or an auditor asking for erasures or trial events would be refused.
func TestErasureAndTrialActionsFilterable(t *testing.T) {
	for _, a := range []string{RecordErase, KeysErase, HoldPlace, HoldLift, RecordExpire, "hold.*", TrialRegister, TrialAmend, "trial.*",
		PartnerBind, EPCISCapture, EPCISRelease, "epcis.*", ValidatorSet, ValidatorRemove, "validator.*"} {
		f := Filter{Action: a}
		if err := f.Validate(); err != nil {
			t.Errorf("filter on %s refused: %v", a, err)
		}
	}
}
