package api_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// chain is a supply chain on a real node: Acme makes, Big Wholesale distributes, Corner
// Pharmacy dispenses, the Drug Agency regulates, Rival is a partner outside it all.
type chain struct {
	c                                           *client.Client
	r                                           *nodetest.Running
	reg, acme, wholesaler, pharmacy, fda, rival *keys.Keystore
	minute                                      int
	ctx                                         context.Context
	t                                           *testing.T
}

func newChain(t *testing.T) *chain {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	c := r.Client
	if err := r.Server.ConfigureEPCIS(filepath.Join(epcisData, "schema", "EPCIS-JSON-Schema.json")); err != nil {
		t.Fatal(err)
	}
	ch := &chain{c: c, r: r, ctx: ctx, t: t, reg: reg,
		acme:       newPartner(t, ctx, c, reg, identity.Manufacturer, "Acme Pharma"),
		wholesaler: newPartner(t, ctx, c, reg, identity.Wholesaler, "Big Wholesale"),
		pharmacy:   newPartner(t, ctx, c, reg, identity.Dispenser, "Corner Pharmacy"),
		fda:        newPartner(t, ctx, c, reg, identity.Regulator, "Drug Agency"),
		rival:      newPartner(t, ctx, c, reg, identity.Manufacturer, "Rival"),
	}
	for _, b := range []supply.BindBody{
		{Partner: ch.acme.ID, Prefixes: []string{"4012345"}, GLNs: []string{"4012345000009"}},
		{Partner: ch.wholesaler.ID, GLNs: []string{"0614141000005"}},
		{Partner: ch.pharmacy.ID, GLNs: []string{"0712345000002"}},
		{Partner: ch.rival.ID, Prefixes: []string{"0888888"}},
	} {
		if err := c.BindPartner(ctx, reg, b); err != nil {
			t.Fatal(err)
		}
	}
	return ch
}

// capture captures events (JSON members without their time) as ks and returns the
// suspect-product events they raised.
func (ch *chain) capture(ks *keys.Keystore, events ...string) []uint64 {
	ch.t.Helper()
	var list []string
	for _, e := range events {
		ch.minute++
		list = append(list, fmt.Sprintf(`{%s,"eventTime":"2026-01-02T%02d:%02d:00Z","eventTimeZoneOffset":"+00:00"}`, e, 4+ch.minute/60, ch.minute%60))
	}
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
		`"schemaVersion":"2.0","creationDate":"2026-01-02T03:04:05Z","epcisBody":{"eventList":[` + strings.Join(list, ",") + `]}}`
	got, err := ch.c.Capture(ch.ctx, ks, []byte(doc))
	if err != nil {
		ch.t.Fatalf("capture by %s: %v", ks.Name, err)
	}
	var seqs []uint64
	for _, ev := range got.Events {
		seqs = append(seqs, ev.Suspects...)
	}
	return seqs
}

func quotedList(ids []string) string { return `"` + strings.Join(ids, `","`) + `"` }

func commissionEvent(lot, expiry string, epcs ...string) string {
	return `"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","disposition":"active","epcList":[` + quotedList(epcs) +
		`],"ilmd":{"cbvmda:lotNumber":"` + lot + `","cbvmda:itemExpirationDate":"` + expiry + `"}`
}

func packEvent(parent string, children ...string) string {
	return `"type":"AggregationEvent","action":"ADD","bizStep":"packing","parentID":"` + parent + `","childEPCs":[` + quotedList(children) + `]`
}

func shipEvent(toParty string, epcs ...string) string {
	return `"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","epcList":[` + quotedList(epcs) +
		`],"destinationList":[{"type":"owning_party","destination":"` + toParty + `"}]`
}

func observeEvent(step string, epcs ...string) string {
	return `"type":"ObjectEvent","action":"OBSERVE","bizStep":"` + step + `","epcList":[` + quotedList(epcs) + `]`
}

const (
	toWholesaler = "urn:epc:id:pgln:0614141.00000"
	toPharmacy   = "urn:epc:id:pgln:0712345.00000"
	item1        = "urn:epc:id:sgtin:4012345.012345.1001"
	item2        = "urn:epc:id:sgtin:4012345.012345.1002"
	case1        = "urn:epc:id:sscc:4012345.0000000001"
)

// trusted is a trace of epc as ks together with the app hash the node committed at the
// trace's height (read from its status at that same height, not from the trace).
func (ch *chain) trusted(ks *keys.Keystore, epc string) (*wire.TraceResponse, []byte) {
	ch.t.Helper()
	for ch.ctx.Err() == nil {
		tr, err := ch.c.As(ks).Trace(ch.ctx, epc)
		if err != nil {
			ch.t.Fatalf("trace of %s as %s: %v", epc, ks.Name, err)
		}
		st, err := ch.c.Status(ch.ctx)
		if err != nil {
			ch.t.Fatal(err)
		}
		if st.Height == tr.Height {
			h, err := hex.DecodeString(st.AppHash)
			if err != nil {
				ch.t.Fatal(err)
			}
			return tr, h
		}
	}
	ch.t.Fatal("no status at the trace's height before the deadline")
	return nil, nil
}

// TestEPCISTraceOverHTTP: an item's chain of custody, through the case it travelled in,
// is answered to the partners that held it and the regulator, with proofs that verify
// offline against the committed app hash; a changed byte fails; an outsider is refused.
func TestEPCISTraceOverHTTP(t *testing.T) {
	ch := newChain(t)
	if s := ch.capture(ch.acme, commissionEvent("L1", "2027-06-30", item1, item2), packEvent(case1, item1, item2)); len(s) != 0 {
		t.Fatalf("suspects %v", s)
	}
	ch.capture(ch.acme, observeEvent("storing", case1), shipEvent(toWholesaler, case1))
	ch.capture(ch.wholesaler, observeEvent("receiving", case1))

	// Asked by Digital Link (path-escaped by the client) or by EPC URI: the same item.
	dl := supply.CanonicalID(item1)
	for _, who := range []*keys.Keystore{ch.acme, ch.wholesaler, ch.fda} {
		for _, epc := range []string{item1, dl} {
			tr, appHash := ch.trusted(who, epc)
			if tr.Item != dl || len(tr.Events) != 5 || len(tr.Items) != 2 || tr.Items[1].Item.ID != supply.CanonicalID(case1) {
				t.Fatalf("trace of %s as %s: item %s, %d events, %d records", epc, who.Name, tr.Item, len(tr.Events), len(tr.Items))
			}
			if tr.Events[2].Via != supply.CanonicalID(case1) || !strings.Contains(string(tr.Events[2].Event.Event), "storing") {
				t.Fatalf("the case's storing is not in the trace via the case: %+v", tr.Events[2])
			}
			if err := tr.Verify(appHash); err != nil {
				t.Fatalf("trace of %s as %s does not verify: %v", epc, who.Name, err)
			}
		}
	}

	// Offline verification fails on any changed byte: of a proof, a proven value, the
	// trusted hash; and on a dropped event of the item's own history.
	tr, appHash := ch.trusted(ch.acme, item1)
	for name, spoil := range map[string]func(*wire.TraceResponse) []byte{
		"event proof":  func(t *wire.TraceResponse) []byte { p := t.Events[1].Proof; p.Map[len(p.Map)/2] ^= 1; return appHash },
		"record proof": func(t *wire.TraceResponse) []byte { p := t.Items[0].Proof; p.Map[len(p.Map)-3] ^= 1; return appHash },
		"map root":     func(t *wire.TraceResponse) []byte { t.Events[0].Proof.MapRoot[0] ^= 1; return appHash },
		"event value":  func(t *wire.TraceResponse) []byte { t.Events[0].Value[10] ^= 1; return appHash },
		"shown event": func(t *wire.TraceResponse) []byte {
			t.Events[3].Event.CapturedBy = ch.rival.ID
			return appHash
		},
		"another app hash": func(*wire.TraceResponse) []byte { h := append([]byte(nil), appHash...); h[31] ^= 1; return h },
		"a dropped event":  func(t *wire.TraceResponse) []byte { t.Events = t.Events[1:]; return appHash },
		// The case's storing claimed as the item's own history, which the proven record
		// does not list.
		"another via": func(t *wire.TraceResponse) []byte { t.Events[2].Via = t.Item; return appHash },
	} {
		fresh := *tr
		fresh.Events = cloneEvents(tr.Events)
		fresh.Items = cloneItems(tr.Items)
		if err := fresh.Verify(spoil(&fresh)); err == nil {
			t.Fatalf("a trace with a spoilt %s verified", name)
		}
	}
	if err := tr.Verify(appHash); err != nil {
		t.Fatalf("the unspoilt trace no longer verifies: %v", err)
	}

	// An outsider partner is refused, saying why; so is an unsigned query; an unknown
	// item is not found.
	_, err := ch.c.As(ch.rival).Trace(ch.ctx, item1)
	clientErr(t, "an outsider's trace", err, http.StatusForbidden, identity.Space, identity.CodeNotEntitled)
	if !strings.Contains(err.Error(), "regulators") {
		t.Fatalf("the refusal does not say who may: %v", err)
	}
	_, err = ch.c.As(ch.pharmacy).Trace(ch.ctx, item1)
	clientErr(t, "the pharmacy, not yet in the item's custody", err, http.StatusForbidden, identity.Space, identity.CodeNotEntitled)
	_, err = ch.c.Trace(ch.ctx, item1)
	clientErr(t, "unsigned trace", err, http.StatusUnauthorized, identity.Space, identity.CodeUnsigned)
	_, err = ch.c.As(ch.acme).Trace(ch.ctx, "urn:epc:id:sgtin:4012345.012345.9999")
	clientErr(t, "unknown item", err, http.StatusNotFound, supply.Space, supply.CodeNotFound)
}

func cloneEvents(in []wire.TracedEvent) []wire.TracedEvent {
	out := make([]wire.TracedEvent, len(in))
	for i, e := range in {
		ev := *e.Event
		p := *e.Proof
		p.Map, p.MapRoot = append([]byte(nil), p.Map...), append([]byte(nil), p.MapRoot...)
		out[i] = wire.TracedEvent{HashID: e.HashID, Via: e.Via, Event: &ev, Value: append([]byte(nil), e.Value...), Proof: &p}
	}
	return out
}

func cloneItems(in []wire.ProvenItem) []wire.ProvenItem {
	out := make([]wire.ProvenItem, len(in))
	for i, it := range in {
		p := *it.Proof
		p.Map = append([]byte(nil), p.Map...)
		out[i] = wire.ProvenItem{Item: it.Item, Value: append([]byte(nil), it.Value...), Proof: &p}
	}
	return out
}

// TestEPCISSuspectsOverHTTP: the regulator pages through every suspect-product event;
// each partner sees those that involve it and no other's.
func TestEPCISSuspectsOverHTTP(t *testing.T) {
	ch := newChain(t)
	item3 := "urn:epc:id:sgtin:4012345.012345.1003"
	ch.capture(ch.acme, commissionEvent("L1", "2027-06-30", item1, item2, item3))
	// Receipts of goods never shipped: two at the pharmacy, one at the wholesaler.
	if s := ch.capture(ch.pharmacy, observeEvent("receiving", item1)); len(s) != 1 {
		t.Fatalf("suspects %v", s)
	}
	ch.capture(ch.pharmacy, observeEvent("receiving", item2))
	ch.capture(ch.wholesaler, observeEvent("receiving", item3))

	var seen []uint64
	after := uint64(0)
	for page := 0; ; page++ {
		got, err := ch.c.As(ch.fda).Suspects(ch.ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range got.Suspects {
			if s.Reason != supply.ReasonUnshippedReceipt {
				t.Fatalf("suspect %+v", s)
			}
			seen = append(seen, s.Seq)
		}
		if got.Next == "" {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
		fmt.Sscan(got.Next, &after)
	}
	if fmt.Sprint(seen) != "[1 2 3]" {
		t.Fatalf("the regulator paged through %v, want [1 2 3]", seen)
	}
	for ks, want := range map[*keys.Keystore]string{ch.acme: "[1 2 3]", ch.pharmacy: "[1 2]", ch.wholesaler: "[3]", ch.rival: "[]"} {
		got, err := ch.c.As(ks).Suspects(ch.ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, s := range got.Suspects {
			seqs = append(seqs, s.Seq)
		}
		if fmt.Sprint(seqs) != want && !(want == "[]" && len(seqs) == 0) {
			t.Fatalf("%s sees suspects %v, want %s", ks.Name, seqs, want)
		}
	}
	got, err := ch.c.As(ch.pharmacy).Suspects(ch.ctx, 1, 0)
	if err != nil || len(got.Suspects) != 1 || got.Suspects[0].Seq != 2 || got.Next != "" {
		t.Fatalf("the pharmacy's suspects after 1: %+v, %v", got, err)
	}
	// An auditor of health records is no party to the supply chain.
	aud := newPartner(t, ch.ctx, ch.c, ch.reg, identity.Auditor, "Audit Co")
	_, err = ch.c.As(aud).Suspects(ch.ctx, 0, 0)
	clientErr(t, "an auditor's listing", err, http.StatusForbidden, identity.Space, identity.CodeNotEntitled)
	_, err = ch.c.Suspects(ch.ctx, 0, 0)
	clientErr(t, "unsigned listing", err, http.StatusUnauthorized, identity.Space, identity.CodeUnsigned)
	_, err = ch.c.As(ch.fda).Suspects(ch.ctx, 0, 5000)
	clientErr(t, "a page too large", err, http.StatusBadRequest, "api", 1)
}

// appHashAt is the app hash the node committed at height, from its status at that height
// (ok false when the node has moved on).
func (ch *chain) appHashAt(height int64) ([]byte, bool) {
	st, err := ch.c.Status(ch.ctx)
	if err != nil {
		ch.t.Fatal(err)
	}
	h, err := hex.DecodeString(st.AppHash)
	if err != nil {
		ch.t.Fatal(err)
	}
	return h, st.Height == height
}

// verified asks the node about code until it answers at a height whose app hash it then
// reports, checks the answer offline against that hash and returns both.
func (ch *chain) verified(code string) (*wire.VerifyResponse, []byte) {
	ch.t.Helper()
	for ch.ctx.Err() == nil {
		got, err := ch.c.VerifyCode(ch.ctx, code)
		if err != nil {
			ch.t.Fatalf("verify %q: %v", code, err)
		}
		appHash, ok := ch.appHashAt(got.Height)
		if !ok {
			continue
		}
		if err := got.Verify(appHash); err != nil {
			ch.t.Fatalf("the answer for %q does not verify offline: %v", code, err)
		}
		return got, appHash
	}
	ch.t.Fatal("no status at the answer's height before the deadline")
	return nil, nil
}

// TestEPCISVerifyOverHTTP: anyone may scan a pack's code, without signing, and learns
// whether it is genuine, unknown, suspect, recalled, expired or dispensed, with proofs
// of the public records judged (of absence for an unknown pack) that verify offline.
func TestEPCISVerifyOverHTTP(t *testing.T) {
	ch := newChain(t)
	st, err := ch.c.Status(ch.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Expiry is judged against the latest block's time: one pack expired forty days
	// before it, the others a year after.
	past, future := st.BlockTime.AddDate(0, 0, -40), st.BlockTime.AddDate(1, 0, 0)
	sg := func(serial string) string { return "urn:epc:id:sgtin:4012345.012345." + serial }
	ch.capture(ch.acme, commissionEvent("L1", future.Format(time.DateOnly), sg("1"), sg("2"), sg("3")))
	ch.capture(ch.acme, commissionEvent("L2", future.Format(time.DateOnly), sg("4")))
	ch.capture(ch.acme, commissionEvent("L3", past.Format(time.DateOnly), sg("5")))
	// Pack 2 goes to the pharmacy and is dispensed; the pharmacy "receives" pack 3, which
	// was never shipped to it; lot L2 is recalled.
	ch.capture(ch.acme, shipEvent(toPharmacy, sg("2")))
	ch.capture(ch.pharmacy, observeEvent("receiving", sg("2")), observeEvent("dispensing", sg("2")))
	if s := ch.capture(ch.pharmacy, observeEvent("receiving", sg("3"))); len(s) != 1 {
		t.Fatalf("suspects %v", s)
	}
	ch.capture(ch.acme, `"type":"ObjectEvent","action":"OBSERVE","bizStep":"holding","disposition":"recalled","epcList":[],"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.L2"}]`)

	yymmdd := func(t time.Time) string { return t.Format("060102") }
	fut := yymmdd(future)
	for _, c := range []struct{ code, want string }{
		{"(01)04012345123456(21)1(10)L1(17)" + fut, supply.AnswerGenuine},
		{"https://id.gs1.org/01/04012345123456/10/L1/21/1?17=" + fut, supply.AnswerGenuine},
		{"0104012345123456" + "17" + fut + "10L1\x1d211", supply.AnswerGenuine},
		{"(01)04012345123456(21)99(10)L1(17)" + fut, supply.AnswerUnknown},
		{"(01)04012345123456(21)3(10)L1(17)" + fut, supply.AnswerSuspect},                             // quarantined
		{"(01)04012345123456(21)1(10)L7(17)" + fut, supply.AnswerSuspect},                             // a lot the pack was not made in
		{"(01)04012345123456(21)1(10)L1(17)" + yymmdd(future.AddDate(0, 1, 0)), supply.AnswerSuspect}, // another expiry
		{"(01)04012345123456(21)4(10)L2(17)" + fut, supply.AnswerRecalled},
		{"(01)04012345123456(21)5(10)L3(17)" + yymmdd(past), supply.AnswerExpired},
		{"(01)04012345123456(21)2(10)L1(17)" + fut, supply.AnswerDispensed},
	} {
		got, _ := ch.verified(c.code)
		if got.Verdict.Answer != c.want {
			t.Fatalf("%q: %+v, want %s", c.code, got.Verdict, c.want)
		}
		if got.Public != nil && strings.Contains(string(got.Value), ch.acme.ID) {
			t.Fatalf("the public answer names a trading partner: %s", got.Value)
		}
	}

	// A changed byte anywhere fails offline: in the proof, the proven value, the verdict;
	// and an unknown pack's absence cannot be turned into a record.
	genuine, appHash := ch.verified("(01)04012345123456(21)1(10)L1(17)" + fut)
	spoilt := *genuine
	spoilt.Proof = &wire.Proof{}
	*spoilt.Proof = *genuine.Proof
	spoilt.Proof.Map = append([]byte(nil), genuine.Proof.Map...)
	spoilt.Proof.Map[len(spoilt.Proof.Map)/2] ^= 1
	if err := spoilt.Verify(appHash); err == nil {
		t.Fatal("a flipped proof byte verified")
	}
	spoilt = *genuine
	spoilt.Verdict = supply.Verdict{Answer: supply.AnswerRecalled, Detail: genuine.Verdict.Detail}
	if err := spoilt.Verify(appHash); err == nil {
		t.Fatal("a changed verdict verified")
	}
	// Hiding a recall: the lot's record dropped from the answer (an absence claimed for a
	// present key), or the verdict recomputed without it, fails.
	recalled, recallHash := ch.verified("(01)04012345123456(21)4(10)L2(17)" + fut)
	hidden := *recalled
	hidden.LotValue, hidden.LotPublic = nil, nil
	hidden.Verdict = supply.Judge(hidden.Code, hidden.Public, nil, hidden.BlockTime)
	if hidden.Verdict.Answer != supply.AnswerGenuine || hidden.Verify(recallHash) == nil {
		t.Fatalf("a hidden recall verified: %+v", hidden.Verdict)
	}
	unknown, unknownHash := ch.verified("(01)04012345123456(21)99")
	if unknown.Value != nil || unknown.Public != nil {
		t.Fatalf("an unknown pack has a record: %+v", unknown)
	}
	forged := *unknown
	forged.Value, forged.Public = genuine.Value, genuine.Public
	if err := forged.Verify(unknownHash); err == nil {
		t.Fatal("an absence proof verified a record")
	}

	for code, why := range map[string]string{"": "code=", "(01)04012345123457(21)1": "check digit", "(01)04012345123456": "serial"} {
		_, err := ch.c.VerifyCode(ch.ctx, code)
		clientErr(t, "malformed code "+code, err, http.StatusBadRequest, "api", 1)
		if !strings.Contains(err.Error(), why) {
			t.Fatalf("%q: %v, want it to say %s", code, err, why)
		}
	}
}
