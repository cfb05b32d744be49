package interchain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

func citation(record, client, digest, epc string, p proven) *crosstx.CiteBody {
	return &crosstx.CiteBody{Record: record, ClientID: client, Digest: digest, EPC: epc, Event: p.value, Proof: (*wire.Proof)(p.proof)}
}

// TestCiteSupplyChainDispense: the supply chain runs as its own real network; a pharmacy
// on the EHR chain cites, from the MedicationDispense record it wrote, the dispensing event
// the supply chain committed, with a proof the EHR chain checks against the header its
// light client verified. Every refusal is tried first; the citation is stored and audited,
// the same event cannot be cited twice, and replaying the blocks gives the same app hashes.
func TestCiteSupplyChainDispense(t *testing.T) {
	src := realSource(t)
	e := newAppChain(t, "ehr-a", src.blocks[src.h2+1].Time.Add(time.Minute))
	pharm, other := newKS(t, "pharmacist"), newKS(t, "other-pharmacist")
	e.register(pharm, identity.Provider, "Corner Pharmacy", "RPH-1")
	e.register(other, identity.Provider, "Corner Pharmacy", "RPH-2")
	e.follow("supply", src.chainID, pharm, src.blocks[1], src.blocks[src.h1+1])
	e.frozenClient("frozen", pharm)
	pat, ck := e.patient("pat")
	e.grant(pat, pharm.ID)
	e.grant(pat, other.ID)
	e.write(pharm, pat.ID, ck, "disp-1", crosstx.DispenseResourceType)
	e.write(pharm, pat.ID, ck, "obs-1", "Observation")
	e.write(other, pat.ID, ck, "disp-2", crosstx.DispenseResourceType)

	d, item := src.dispenseDigest, src.item1
	cite := func(record, client string, p proven) *crosstx.CiteBody {
		return citation(record, client, d, item, p)
	}
	for _, c := range []struct {
		what string
		body *crosstx.CiteBody
		code uint32
	}{
		{"an unknown client", cite("disp-1", "nowhere", src.dispense), interchain.CodeNotFound},
		{"a frozen client", cite("disp-1", "frozen", src.dispense), interchain.CodeFrozen},
		{"a height whose header was never verified", cite("disp-1", "supply", relabelled(src.dispense, src.h2)), interchain.CodeUnverified},
		{"a proof with a flipped byte", cite("disp-1", "supply", flipped(src.dispense)), interchain.CodeProof},
		{"a changed event", cite("disp-1", "supply", func() proven {
			p := src.dispense
			p.value = []byte(strings.Replace(string(p.value), "1001", "1002", 1))
			return p
		}()), interchain.CodeProof},
		{"an event not in the supply chain's state", citation("disp-1", "supply", src.absentDigest, item, proven{value: src.dispense.value, proof: src.absent.proof}), interchain.CodeProof},
		{"another event's proof", citation("disp-1", "supply", src.absentDigest, item, src.dispense), interchain.CodeProof},
		{"an event that is not a dispense", citation("disp-1", "supply", src.commissionDigest, item, src.commission), interchain.CodeNotDispense},
		{"a pack the dispense does not name", citation("disp-1", "supply", d, src.item2, src.dispense), interchain.CodeNotDispense},
		{"a record of another author", cite("disp-2", "supply", src.dispense), interchain.CodeNotAuthor},
		{"a record that is not a MedicationDispense", cite("obs-1", "supply", src.dispense), interchain.CodeNoRecord},
		{"a record that does not exist", cite("disp-9", "supply", src.dispense), interchain.CodeNoRecord},
		{"a malformed digest", citation("disp-1", "supply", strings.ToUpper(d), item, src.dispense), interchain.CodeInvalid},
	} {
		e.refused(c.what, pharm, c.body, c.code)
	}
	e.refused("a citation by the patient, from a record the pharmacist wrote", pat, cite("disp-1", "supply", src.dispense), interchain.CodeNotAuthor)
	if got := interchain.Citations(e.view(), "disp-1"); len(got) != 0 {
		t.Fatalf("refused citations left %+v", got)
	}

	// The pack as its Digital Link is the same pack.
	byLink := citation("disp-1", "supply", d, "https://id.gs1.org/01/04012345123456/21/1001", src.dispense)
	e.ok("cite the dispense", pharm, byLink)
	got := interchain.Citations(e.view(), "disp-1")
	if len(got) != 1 {
		t.Fatalf("citations of disp-1: %+v", got)
	}
	c := got[0]
	var stored supply.StoredEvent
	if err := json.Unmarshal(src.dispense.value, &stored); err != nil {
		t.Fatal(err)
	}
	switch {
	case c.ChainID != src.chainID || c.Client != "supply" || c.Height != src.h1 || c.Digest != d || c.HashID != stored.HashID:
		t.Fatalf("citation: %+v", c)
	case c.EPC != supply.CanonicalID(item) || c.BizStep != "dispensing" || c.CapturedBy != src.dispenseCapturedBy || c.CitedBy != pharm.ID || c.Version != 1:
		t.Fatalf("citation: %+v", c)
	}
	if ev := e.lastEvent(); ev.Action != interchain.ActionCite || ev.Actor != pharm.ID || ev.Record != "disp-1" || ev.Patient != pat.ID || ev.Digest != d {
		t.Fatalf("citation audit event: %+v", ev)
	}
	e.write(pharm, pat.ID, ck, "disp-3", crosstx.DispenseResourceType)
	e.refused("the same dispense from another record", pharm, cite("disp-3", "supply", src.dispense), interchain.CodeExists)
	e.refused("the same dispense again", pharm, cite("disp-1", "supply", src.dispense), interchain.CodeExists)
	e.replay()
}

// TestDispenseRule: the pure rule on what a dispense is, one case a line.
func TestDispenseRule(t *testing.T) {
	const pack = "urn:epc:id:sgtin:4012345.012345.1001"
	ev := func(body string) *supply.StoredEvent { return &supply.StoredEvent{Event: []byte(body)} }
	for _, c := range []struct {
		event string
		epc   string
		ok    bool
	}{
		{`{"type":"ObjectEvent","bizStep":"dispensing","epcList":["` + pack + `"]}`, pack, true},
		{`{"type":"ObjectEvent","bizStep":"urn:epcglobal:cbv:bizstep:dispensing","epcList":["` + pack + `"]}`, pack, true},
		{`{"type":"ObjectEvent","bizStep":"https://ref.gs1.org/cbv/BizStep-dispensing","epcList":["` + pack + `"]}`, pack, true},
		{`{"type":"ObjectEvent","bizStep":"retail_selling","disposition":"dispensed","epcList":["` + pack + `"]}`, pack, true},
		{`{"type":"ObjectEvent","disposition":"urn:epcglobal:cbv:disp:dispensed","epcList":["` + pack + `"]}`, pack, true},
		{`{"type":"ObjectEvent","bizStep":"dispensing","epcList":["` + pack + `"]}`, "https://id.gs1.org/01/04012345123456/21/1001", true},
		{`{"type":"ObjectEvent","bizStep":"shipping","disposition":"in_transit","epcList":["` + pack + `"]}`, pack, false},
		{`{"type":"ObjectEvent","bizStep":"dispensing","epcList":["urn:epc:id:sgtin:4012345.012345.1002"]}`, pack, false},
		{`{"type":"ObjectEvent","bizStep":"dispensing","epcList":[]}`, pack, false},
		{`{"type":"AggregationEvent","bizStep":"dispensing","epcList":["` + pack + `"]}`, pack, false},
		{`{"type":"ObjectEvent","bizStep":"dispensing-ish","epcList":["` + pack + `"]}`, pack, false},
		{`not json`, pack, false},
	} {
		_, _, why := interchain.Dispense(ev(c.event), c.epc)
		if (why == "") != c.ok {
			t.Errorf("%s for %s: why %q, want ok %v", c.event, c.epc, why, c.ok)
		}
	}
	declared := ev(`{"type":"ObjectEvent","bizStep":"dispensing","epcList":["` + pack + `"]}`)
	declared.Declaration = &supply.Declaration{Height: 9}
	if _, _, why := interchain.Dispense(declared, pack); why == "" {
		t.Error("a dispense declared erroneous is a dispense")
	}
}
