package portal_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/recalltest"
)

// TestPortalRecallBanner: in headless Chromium against a real node, the patient who took
// home a pack of the recalled lot sees a banner naming the medication, the lot and the
// manufacturer's recall, pointing at the dispense record; the patient whose only pack is
// of the good lot sees none. The page checks at each load, so the banner appears once the
// recall is on the ledger and not before.
func TestPortalRecallBanner(t *testing.T) {
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.node.Server.ConfigureEPCIS("../../../shared/data/epcis-2.0/schema/EPCIS-JSON-Schema.json"); err != nil {
		t.Fatal(err)
	}
	s := recalltest.Build(t, ctx, e.cl, e.reg, recalltest.Options{AffectedName: "ada", ClearName: "cy", DeferRecall: true})
	dir := keys.Dir{Path: node.Paths{Home: e.home}.Keys()}
	for _, ks := range []*keys.Keystore{s.Affected, s.Clear} {
		b, err := keys.Encrypt(ks, []byte(pass), keys.TestKDF)
		if err != nil {
			t.Fatal(err)
		}
		if err := dir.Save(ks.Name, b); err != nil {
			t.Fatal(err)
		}
	}

	b := newBrowser(t, e.base)
	b.enrol(e, "ada")
	b.wantPath("/portal/patient")
	b.wantCount("li.entry[data-type=MedicationDispense]", 2)
	b.wantCount("#recall-banner", 0) // nothing recalled yet
	recalltest.Recall(t, ctx, e.cl, s.Acme, recalltest.RecalledLot)
	b.open("/portal/patient")
	b.wantCount("#recall-banner li.recall", 1)
	b.wantCount(fmt.Sprintf(`#recall-banner li.recall[data-answer=recalled][data-record="%s"]`, s.Records[s.Affected.ID][1]), 1)
	b.wantText("#recall-banner li.recall", recalltest.Medication+", lot "+recalltest.RecalledLot+", pack 201")
	b.wantText("#recall-banner li.recall", "recalled by the manufacturer")
	b.wantText("li.entry[data-type=MedicationDispense]", recalltest.Medication) // the timeline names the drug
	b.shot("patient-recall")
	b.signOut()

	b.enrol(e, "cy")
	b.wantPath("/portal/patient")
	b.wantCount("li.entry[data-type=MedicationDispense]", 1)
	b.wantCount("#recall-banner", 0)
	b.signOut()
	b.noProblems()
}
