package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// provenQuery is one proven query page as ks and the app hash committed at its height.
func (ch *chain) provenQuery(ks *keys.Keystore, params url.Values) (*wire.ProvenQueryResponse, []byte) {
	ch.t.Helper()
	for ch.ctx.Err() == nil {
		res, err := ch.c.As(ks).QueryEventsProven(ch.ctx, params)
		if err != nil {
			ch.t.Fatalf("proven query %v as %s: %v", params, ks.Name, err)
		}
		if h, ok := ch.appHashAt(res.Height); ok {
			return res, h
		}
	}
	ch.t.Fatal("no status at the answer's height before the deadline")
	return nil, nil
}

// TestEPCISQueryProofOverHTTP: with proof=true each answered event comes with the proof
// of its state value; the page verifies offline against the committed app hash and the
// query; a flipped byte of a value or a proof, a changed event, another app hash or
// another query fails; paging keeps the proofs; visibility still applies.
func TestEPCISQueryProofOverHTTP(t *testing.T) {
	ch := newChain(t)
	ids := ch.captureIDs(ch.acme, ch.storyDoc(commissionEvent("L1", "2027-06-30", item1, item2), packEvent(case1, item1, item2),
		shipEvent(toWholesaler, case1)))
	receipt := ch.captureIDs(ch.wholesaler, ch.storyDoc(observeEvent("receiving", case1)))[0]

	params := url.Values{"MATCH_epc": {"urn:epc:idpat:sgtin:4012345.012345.*"}}
	res, appHash := ch.provenQuery(ch.fda, params)
	var got []string
	for _, e := range res.Events {
		got = append(got, e.HashID)
	}
	if !slices.Equal(got, ids[:2]) || res.Next != "" {
		t.Fatalf("the packs' events: %v (next %q), want %v", got, res.Next, ids[:2])
	}
	if err := res.Verify(appHash, params); err != nil {
		t.Fatalf("the proven page does not verify: %v", err)
	}
	// Every tampering is caught.
	tamper := map[string]func(r *wire.ProvenQueryResponse){
		"a value's byte": func(r *wire.ProvenQueryResponse) { r.Events[1].Value[len(r.Events[1].Value)/2] ^= 1 },
		"a proof's byte": func(r *wire.ProvenQueryResponse) { r.Events[0].Proof.Map[len(r.Events[0].Proof.Map)/2] ^= 1 },
		"a map root":     func(r *wire.ProvenQueryResponse) { r.Events[0].Proof.MapRoot[0] ^= 1 },
		"the shown event": func(r *wire.ProvenQueryResponse) {
			r.Events[0].Event.CapturedBy = ch.rival.ID
		},
		"no proof":     func(r *wire.ProvenQueryResponse) { r.Events[1].Proof = nil },
		"ledger order": func(r *wire.ProvenQueryResponse) { r.Events[0], r.Events[1] = r.Events[1], r.Events[0] },
	}
	for name, f := range tamper {
		bad, _ := ch.provenQuery(ch.fda, params)
		f(bad)
		if err := bad.Verify(appHash, params); err == nil {
			t.Errorf("%s changed, and the page still verifies", name)
		}
	}
	wrong := slices.Clone(appHash)
	wrong[0] ^= 1
	if err := res.Verify(wrong, params); err == nil {
		t.Fatal("the page verifies against another app hash")
	}
	if err := res.Verify(appHash, url.Values{"EQ_bizStep": {"shipping"}}); err == nil || !strings.Contains(err.Error(), "does not match the query") {
		t.Fatalf("the page verifies for a query it does not answer: %v", err)
	}

	// Paging: the next token goes on, each page proven.
	var paged []string
	page := url.Values{"MATCH_anyEPC": {"urn:epc:idpat:sscc:4012345.*"}, "perPage": {"1"}}
	for range 10 {
		r, h := ch.provenQuery(ch.wholesaler, page)
		if err := r.Verify(h, page); err != nil {
			t.Fatalf("page %d: %v", len(paged)+1, err)
		}
		for _, e := range r.Events {
			paged = append(paged, e.HashID)
		}
		if r.Next == "" {
			break
		}
		page.Set("nextPageToken", r.Next)
	}
	if want := []string{ids[1], ids[2], receipt}; !slices.Equal(paged, want) {
		t.Fatalf("the case's events by pages of 1: %v", paged)
	}
	// Visibility: Rival is answered nothing of Acme's, proven or not.
	if r, _ := ch.provenQuery(ch.rival, params); len(r.Events) != 0 {
		t.Fatalf("Rival sees %d of Acme's events", len(r.Events))
	}
	// A proof value other than true or false is refused by name.
	_, _, err := ch.c.As(ch.fda).QueryEvents(ch.ctx, url.Values{"proof": {"yes"}})
	clientErr(t, "proof=yes", err, http.StatusBadRequest, "api", 1)
	if !strings.Contains(err.Error(), "parameter proof") {
		t.Fatalf("the refusal does not name proof: %v", err)
	}
}

// TestEPCISLotTraceOverHTTP: the packs of a lot, each with its custody, the case it is
// in and where it was last seen, proven; a partner sees the packs it held, a regulator
// all; pages go on by identifier; a flipped byte fails the check.
func TestEPCISLotTraceOverHTTP(t *testing.T) {
	ch := newChain(t)
	item3 := "urn:epc:id:sgtin:4012345.012345.1003"
	ch.captureIDs(ch.acme, ch.storyDoc(commissionEvent("L1", "2027-06-30", item1, item2), commissionEvent("L2", "2027-06-30", item3),
		packEvent(case1, item1), shipEvent(toWholesaler, case1)))
	receipt := ch.captureIDs(ch.wholesaler, ch.storyDoc(observeEvent("receiving", case1)))[0]

	lotTrace := func(ks *keys.Keystore, after string, limit int) (*wire.LotTraceResponse, []byte) {
		t.Helper()
		for ch.ctx.Err() == nil {
			tr, err := ch.c.As(ks).LotTrace(ch.ctx, "04012345123456", "L1", after, limit)
			if err != nil {
				t.Fatalf("lot trace as %s: %v", ks.Name, err)
			}
			if h, ok := ch.appHashAt(tr.Height); ok {
				return tr, h
			}
		}
		t.Fatal("no status at the trace's height")
		return nil, nil
	}
	tr, h := lotTrace(ch.fda, "", 0)
	if err := tr.Verify(h); err != nil {
		t.Fatalf("the lot trace does not verify: %v", err)
	}
	if tr.Lot != "https://id.gs1.org/01/04012345123456/10/L1" || tr.Record == nil || tr.Record.Item != nil || len(tr.Packs) != 2 || tr.Next != "" {
		t.Fatalf("lot %s, record %+v, %d packs, next %q", tr.Lot, tr.Record, len(tr.Packs), tr.Next)
	}
	p1, p2 := tr.Packs[0], tr.Packs[1]
	if p1.Item.Item.ID != supply.CanonicalID(item1) || len(p1.Within) != 1 || p1.Within[0].Item.ID != supply.CanonicalID(case1) ||
		p1.Where().HashID != receipt || p1.Item.Item.Owner != ch.wholesaler.ID {
		t.Fatalf("pack 1: %+v within %d, last seen %s", p1.Item.Item, len(p1.Within), p1.Where().HashID)
	}
	if p2.Item.Item.ID != supply.CanonicalID(item2) || len(p2.Within) != 0 || p2.Item.Item.Owner != ch.acme.ID ||
		!slices.Equal(p2.Item.Item.Custody, []string{ch.acme.ID}) {
		t.Fatalf("pack 2: %+v", p2.Item.Item)
	}
	for name, f := range map[string]func(r *wire.LotTraceResponse){
		"a pack's value":     func(r *wire.LotTraceResponse) { r.Packs[1].Item.Value[10] ^= 1 },
		"the case's proof":   func(r *wire.LotTraceResponse) { r.Packs[0].Within[0].Proof.Map[5] ^= 1 },
		"a latest event":     func(r *wire.LotTraceResponse) { r.Packs[1].Last[0] = r.Packs[0].Last[0] },
		"the lot's absence":  func(r *wire.LotTraceResponse) { r.Record.Value = []byte(`{}`) },
		"the case left out":  func(r *wire.LotTraceResponse) { r.Packs[0].Within = nil; r.Packs[0].Last = r.Packs[0].Last[:1] },
		"another lot's pack": func(r *wire.LotTraceResponse) { r.Lot = "https://id.gs1.org/01/04012345123456/10/L2" },
	} {
		bad, bh := lotTrace(ch.fda, "", 0)
		f(bad)
		if err := bad.Verify(bh); err == nil {
			t.Errorf("%s changed, and the lot trace still verifies", name)
		}
	}
	// The wholesaler held pack 1 only; Rival none; pages of one go on by identifier.
	if w, _ := lotTrace(ch.wholesaler, "", 0); len(w.Packs) != 1 || w.Packs[0].Item.Item.ID != supply.CanonicalID(item1) {
		t.Fatalf("the wholesaler sees %d packs", len(w.Packs))
	}
	if r, _ := lotTrace(ch.rival, "", 0); len(r.Packs) != 0 {
		t.Fatalf("Rival sees %d packs", len(r.Packs))
	}
	first, _ := lotTrace(ch.fda, "", 1)
	second, _ := lotTrace(ch.fda, first.Next, 1)
	if len(first.Packs) != 1 || first.Next != supply.CanonicalID(item1) || len(second.Packs) != 1 ||
		second.Packs[0].Item.Item.ID != supply.CanonicalID(item2) {
		t.Fatalf("pages of one: %d packs next %q, then %d", len(first.Packs), first.Next, len(second.Packs))
	}
	// Once recalled, the lot has a record: proven to the regulator, left out for Rival
	// (it names the partners that held the lot; the recall itself is public at verify).
	ch.capture(ch.acme, `"type":"ObjectEvent","action":"OBSERVE","bizStep":"holding","disposition":"recalled","epcList":[],"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.L1"}]`)
	rec, rh := lotTrace(ch.fda, "", 0)
	if err := rec.Verify(rh); err != nil || rec.Record == nil || rec.Record.Item == nil || rec.Record.Item.Status != supply.StatusRecalled {
		t.Fatalf("the recalled lot's record: %+v, %v", rec.Record, err)
	}
	hidden, hh := lotTrace(ch.rival, "", 0)
	if err := hidden.Verify(hh); err != nil || hidden.Record != nil {
		t.Fatalf("Rival is shown the lot's record: %+v, %v", hidden.Record, err)
	}
	rec.Record.Item.Custody = append(rec.Record.Item.Custody, ch.rival.ID)
	if err := rec.Verify(rh); err == nil {
		t.Fatal("a changed lot record still verifies")
	}
	_, err := ch.c.As(ch.reg).LotTrace(ch.ctx, "04012345123456", "L1", "", 0)
	clientErr(t, "the registrar's lot trace", err, http.StatusForbidden, identity.Space, identity.CodeNotEntitled)
	if _, err := ch.c.As(ch.fda).LotTrace(ch.ctx, "0401234512345", "L1", "", 0); err == nil || !strings.Contains(err.Error(), "name no lot") {
		t.Fatalf("a 13-digit GTIN: %v", err)
	}
}
