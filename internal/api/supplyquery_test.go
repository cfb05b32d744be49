package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// captureIDs captures doc as ks and returns its events' Event Hash IDs, in order.
func (ch *chain) captureIDs(ks *keys.Keystore, doc []byte) []string {
	ch.t.Helper()
	got, err := ch.c.Capture(ch.ctx, ks, doc)
	if err != nil {
		ch.t.Fatalf("capture by %s: %v", ks.Name, err)
	}
	var ids []string
	for _, ev := range got.Events {
		ids = append(ids, ev.HashID)
	}
	return ids
}

// storyDoc is a capture document of events (JSON members without their time), a minute apart.
func (ch *chain) storyDoc(events ...string) []byte {
	var list []string
	for _, e := range events {
		ch.minute++
		list = append(list, fmt.Sprintf(`{%s,"eventTime":"2026-01-02T%02d:%02d:00Z","eventTimeZoneOffset":"+00:00"}`, e, 4+ch.minute/60, ch.minute%60))
	}
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
		`"schemaVersion":"2.0","creationDate":"2026-01-02T03:04:05Z","epcisBody":{"eventList":[` + strings.Join(list, ",") + `]}}`)
}

func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(epcisData, "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// queryAll follows the Link headers of a query from its first page and returns every
// event's id, in order, and how many pages it took.
func (ch *chain) queryAll(ks *keys.Keystore, params url.Values) ([]string, int) {
	ch.t.Helper()
	doc, next, err := ch.c.As(ks).QueryEvents(ch.ctx, params)
	var ids []string
	pages := 0
	for {
		if err != nil {
			ch.t.Fatalf("query %v as %s, page %d: %v", params, ks.Name, pages+1, err)
		}
		pages++
		if doc.Type != "EPCISQueryDocument" || doc.EPCISBody.QueryResults.QueryName != "SimpleEventQuery" {
			ch.t.Fatalf("the answer is not an EPCISQueryDocument of SimpleEventQuery: %+v", doc)
		}
		for _, raw := range doc.EPCISBody.QueryResults.ResultsBody.EventList {
			var ev struct {
				EventID string `json:"eventID"`
			}
			if err := json.Unmarshal(raw, &ev); err != nil || ev.EventID == "" {
				ch.t.Fatalf("an answered event has no eventID: %s", raw)
			}
		}
		// The events are identified as the ledger does, by hashing them as answered.
		b, _ := json.Marshal(doc)
		hashed, err := epcis.HashDocument(b)
		if err != nil {
			ch.t.Fatalf("the answer does not hash: %v", err)
		}
		for _, ev := range hashed {
			ids = append(ids, ev.HashID)
		}
		if next == "" || pages > 100 {
			return ids, pages
		}
		doc, next, err = ch.c.As(ks).QueryEventsPage(ch.ctx, next)
	}
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// TestEPCISQueryOverHTTP: the EPCIS 2.0 query binding over standard example documents
// and the story's events. Each parameter filters as the standard defines it, paging
// answers every event exactly once, each partner sees only what it captured or holds, and
// unknown parameters are refused by name.
func TestEPCISQueryOverHTTP(t *testing.T) {
	ch := newChain(t)
	// The story: Acme commissions two packs, packs them into a case and ships it to the
	// wholesaler, who receives it. Rival commissions and ships its own pack.
	story := ch.captureIDs(ch.acme, ch.storyDoc(commissionEvent("L1", "2027-06-30", item1, item2), packEvent(case1, item1, item2),
		shipEvent(toWholesaler, case1)))
	commission, pack, ship := story[0], story[1], story[2]
	receive := ch.captureIDs(ch.wholesaler, ch.storyDoc(observeEvent("receiving", case1)))[0]
	rivalItem := "urn:epc:id:sgtin:0888888.012345.1"
	rivals := ch.captureIDs(ch.rival, ch.storyDoc(commissionEvent("R1", "2027-01-31", rivalItem), shipEvent(toPharmacy, rivalItem)))
	// Standard examples: a transformation (Acme's prefix) by Acme, shipping and receiving of
	// other items by the wholesaler.
	transform := ch.captureIDs(ch.acme, example(t, "Example_9.6.4-TransformationEvent.jsonld"))
	obj961 := ch.captureIDs(ch.wholesaler, example(t, "Example_9.6.1-ObjectEvent.jsonld")) // shipping in_transit, receiving
	agg963 := ch.captureIDs(ch.wholesaler, example(t, "Example_9.6.3-AggregationEvent.jsonld"))[0]
	obj962 := ch.captureIDs(ch.wholesaler, example(t, "Example_9.6.2-ObjectEvent.jsonld"))[0]
	all := slices.Concat(story, []string{receive}, rivals, transform, obj961, []string{agg963, obj962})

	// Each parameter, as the regulator (who sees everything) asks it.
	dl2018 := supply.CanonicalID("urn:epc:id:sgtin:0614141.107346.2018")
	for _, c := range []struct {
		name   string
		params url.Values
		want   []string
	}{
		{"no filter", url.Values{}, all},
		{"eventType", url.Values{"eventType": {"AggregationEvent"}}, []string{pack, agg963}},
		{"eventType list", url.Values{"eventType": {"AggregationEvent|TransformationEvent"}}, slices.Concat([]string{pack, agg963}, transform)},
		{"MATCH_epc (epcList, childEPCs)", url.Values{"MATCH_epc": {"urn:epc:id:sgtin:0614141.107346.2018"}}, []string{obj961[0], obj961[1], agg963}},
		{"MATCH_epc by Digital Link", url.Values{"MATCH_epc": {dl2018}}, []string{obj961[0], obj961[1], agg963}},
		{"MATCH_epc not parentID", url.Values{"MATCH_epc": {case1}}, []string{ship, receive}},
		{"MATCH_anyEPC with parentID", url.Values{"MATCH_anyEPC": {case1}}, []string{pack, ship, receive}},
		{"MATCH_epc of a child", url.Values{"MATCH_epc": {item1}}, []string{commission, pack}},
		{"MATCH_epc two values", url.Values{"MATCH_epc": {item1 + "|" + rivalItem}}, slices.Concat([]string{commission, pack}, rivals)},
		{"EQ_bizStep", url.Values{"EQ_bizStep": {"shipping"}}, []string{ship, rivals[1], obj961[0]}},
		{"EQ_bizStep as CBV URN", url.Values{"EQ_bizStep": {"urn:epcglobal:cbv:bizstep:shipping"}}, []string{ship, rivals[1], obj961[0]}},
		{"EQ_disposition", url.Values{"EQ_disposition": {"in_transit"}}, []string{obj961[0]}},
		{"EQ_disposition as web URI", url.Values{"EQ_disposition": {"https://ref.gs1.org/cbv/Disp-in_progress"}}, slices.Concat(transform, []string{obj961[1], agg963, obj962})},
		{"GE/LT_eventTime", url.Values{"GE_eventTime": {"2005-04-03T00:00:00Z"}, "LT_eventTime": {"2005-04-05T00:00:00-06:00"}}, obj961},
		{"LT_eventTime is exclusive", url.Values{"LT_eventTime": {"2005-04-04T20:33:31.116-06:00"}}, []string{obj961[0]}},
		{"GE_eventTime with an offset", url.Values{"GE_eventTime": {"2005-04-05T02:33:31.116+00:00"}, "LT_eventTime": {"2014-01-01T00:00:00Z"}}, slices.Concat([]string{obj961[1], agg963, obj962}, transform)},
		{"GE_eventTime is inclusive", url.Values{"GE_eventTime": {"2026-01-02T04:01:00Z"}}, slices.Concat(story, []string{receive}, rivals)},
		{"EQ_bizLocation", url.Values{"EQ_bizLocation": {"urn:epc:id:sgln:0614141.00888.0"}}, []string{agg963, obj962}},
		{"EQ_bizLocation and EQ_bizStep and eventType", url.Values{"EQ_bizLocation": {"urn:epc:id:sgln:0614141.00888.0"}, "eventType": {"ObjectEvent"}, "EQ_bizStep": {"receiving"}}, []string{obj962}},
		{"nothing matches", url.Values{"MATCH_epc": {item1}, "EQ_bizStep": {"shipping"}}, nil},
	} {
		got, _ := ch.queryAll(ch.fda, c.params)
		if !sameSet(got, c.want) || len(got) != len(c.want) {
			t.Errorf("%s: got %d events %v, want %d %v", c.name, len(got), got, len(c.want), c.want)
		}
	}

	// Paging: every event exactly once, in ledger order, whatever the page size; the
	// token is in the Link header, as GS1's OpenAPI has it.
	for _, per := range []string{"1", "2", "7"} {
		got, pages := ch.queryAll(ch.fda, url.Values{"perPage": {per}})
		if !slices.Equal(got, all) {
			t.Fatalf("perPage=%s: %d events in %d pages, want the %d captured once each in ledger order:\n%v\n%v", per, len(got), pages, len(all), got, all)
		}
		if per == "1" && pages != len(all) {
			t.Fatalf("perPage=1 took %d pages for %d events", pages, len(all))
		}
	}
	got, pages := ch.queryAll(ch.wholesaler, url.Values{"perPage": {"1"}, "EQ_bizStep": {"receiving"}})
	if !slices.Equal(got, []string{receive, obj961[1], agg963, obj962}) || pages != 4 {
		t.Fatalf("the wholesaler's receipts by pages of 1: %v in %d pages", got, pages)
	}

	// Visibility. The wholesaler sees what it captured and, since the case was shipped to
	// it, the history of the case and of the packs inside (commissioning, packing), but not
	// the transformation Acme made of other goods, nor Rival's pack.
	got, _ = ch.queryAll(ch.wholesaler, nil)
	if want := slices.Concat(story, []string{receive}, obj961, []string{agg963, obj962}); !sameSet(got, want) {
		t.Fatalf("the wholesaler sees %v, want %v", got, want)
	}
	// Acme sees its own events and the wholesaler's receipt of its case; nothing of the
	// wholesaler's other business or of Rival's.
	got, _ = ch.queryAll(ch.acme, nil)
	if want := slices.Concat(story, []string{receive}, transform); !sameSet(got, want) {
		t.Fatalf("Acme sees %v, want %v", got, want)
	}
	// Rival sees its own events only, whatever it asks for; the pharmacy, to which Rival
	// shipped, sees Rival's pack and nothing of Acme's.
	for _, params := range []url.Values{nil, {"MATCH_epc": {item1}}, {"MATCH_anyEPC": {case1}}, {"EQ_bizLocation": {"urn:epc:id:sgln:0614141.00888.0"}}, {"eventType": {"AggregationEvent"}}} {
		if got, _ := ch.queryAll(ch.rival, params); !sameSet(got, rivals) && !(len(params) > 0 && len(got) == 0) {
			t.Fatalf("Rival asking %v sees %v", params, got)
		}
		if got, _ := ch.queryAll(ch.pharmacy, params); !sameSet(got, rivals) && !(len(params) > 0 && len(got) == 0) {
			t.Fatalf("the pharmacy asking %v sees %v", params, got)
		}
	}
	if got, _ := ch.queryAll(ch.rival, url.Values{"MATCH_epc": {item1}}); len(got) != 0 {
		t.Fatalf("Rival sees Acme's pack: %v", got)
	}

	// Who may query at all: unsigned 401, the registrar 403.
	_, _, err := ch.c.QueryEvents(ch.ctx, nil)
	clientErr(t, "unsigned query", err, http.StatusUnauthorized, identity.Space, identity.CodeUnsigned)
	_, _, err = ch.c.As(ch.reg).QueryEvents(ch.ctx, nil)
	clientErr(t, "the registrar's query", err, http.StatusForbidden, identity.Space, identity.CodeNotEntitled)

	// Unknown and unevaluated parameters are refused, naming the parameter.
	for param, vals := range map[string]url.Values{
		"EQ_bizstep":      {"EQ_bizstep": {"shipping"}},
		"GE_recordTime":   {"GE_recordTime": {"2026-01-01T00:00:00Z"}},
		"eventType":       {"eventType": {"ShippingEvent"}},
		"GE_eventTime":    {"GE_eventTime": {"yesterday"}},
		"perPage":         {"perPage": {"0"}},
		"nextPageToken":   {"nextPageToken": {"abc"}},
		"MATCH_epc":       {"MATCH_epc": {"urn:epc:idpat:sgtin:4012345.*.1001"}},
		"EQ_disposition2": {"EQ_disposition2": {"x"}},
	} {
		_, _, err := ch.c.As(ch.fda).QueryEvents(ch.ctx, vals)
		clientErr(t, "parameter "+param, err, http.StatusBadRequest, "api", 1)
		if !strings.Contains(err.Error(), "parameter "+param) {
			t.Fatalf("the refusal of %v does not name %s: %v", vals, param, err)
		}
	}

	// The answer is an EPCISQueryDocument the GS1 schema accepts, served as JSON-LD.
	doc, _, err := ch.c.As(ch.fda).QueryEvents(ch.ctx, url.Values{"perPage": {"5"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(doc)
	schema, err := os.ReadFile(filepath.Join(epcisData, "schema", "EPCIS-JSON-Schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := epcis.NewValidator(schema)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(b); err != nil {
		t.Fatalf("the query answer does not conform to the EPCIS schema: %v", err)
	}
	// And its events hash as captured: eventID added, the same Event Hash IDs.
	hashed, err := epcis.HashDocument(b)
	if err != nil || len(hashed) != 5 || hashed[0].HashID != all[0] || hashed[4].HashID != all[4] {
		t.Fatalf("the answered events hash to %v, %v; want %v", hashed, err, all[:5])
	}
	_ = wire.EPCISContext
}

// TestEPCISEventForCustodians: GET /epcis/events/{hash} answers a partner in the custody
// of an item the event names (here the receiver of the case, reading the manufacturer's
// commissioning of a pack inside it, captured before the shipment named it), but not a
// partner outside the chain, nor one that merely captured a receipt of the item.
func TestEPCISEventForCustodians(t *testing.T) {
	ch := newChain(t)
	story := ch.captureIDs(ch.acme, ch.storyDoc(commissionEvent("L1", "2027-06-30", item1, item2), packEvent(case1, item1, item2)))
	commission := story[0]
	// Before the shipment names it, the wholesaler is in no custody of the packs.
	_, err := ch.c.As(ch.wholesaler).EPCISEvent(ch.ctx, commission)
	clientErr(t, "the wholesaler before the shipment", err, http.StatusForbidden, identity.Space, identity.CodeNotEntitled)
	ch.captureIDs(ch.acme, ch.storyDoc(shipEvent(toWholesaler, case1)))
	// The pharmacy captures a receipt of a pack it was never shipped: that does not make
	// it a custodian (the receipt is a suspect event; the pharmacy reads its own capture).
	bogus := ch.captureIDs(ch.pharmacy, ch.storyDoc(observeEvent("receiving", item2)))[0]
	for _, who := range []*keys.Keystore{ch.acme, ch.wholesaler, ch.fda} {
		ev, err := ch.c.As(who).EPCISEvent(ch.ctx, commission)
		if err != nil || ev.HashID != commission || ev.CapturedBy != ch.acme.ID {
			t.Fatalf("%s reading the commissioning: %+v, %v", who.Name, ev, err)
		}
	}
	for _, who := range []*keys.Keystore{ch.rival, ch.pharmacy} {
		_, err := ch.c.As(who).EPCISEvent(ch.ctx, commission)
		clientErr(t, who.Name+" reading the commissioning", err, http.StatusForbidden, identity.Space, identity.CodeNotEntitled)
	}
	if _, err := ch.c.As(ch.pharmacy).EPCISEvent(ch.ctx, bogus); err != nil {
		t.Fatalf("the pharmacy reading its own capture: %v", err)
	}
	// Acme, the owner of the pack the receipt names, reads it too; Rival does not.
	if _, err := ch.c.As(ch.acme).EPCISEvent(ch.ctx, bogus); err != nil {
		t.Fatalf("the owner reading a receipt of its pack: %v", err)
	}
	_, err = ch.c.As(ch.rival).EPCISEvent(ch.ctx, bogus)
	clientErr(t, "Rival reading the receipt", err, http.StatusForbidden, identity.Space, identity.CodeNotEntitled)
}

// TestEPCISQueryContexts: events whose capture documents bind the same namespace prefix
// to different IRIs are not answered in one document (the prefix would mean one of them
// only): the second starts the next page, and each still hashes as captured.
func TestEPCISQueryContexts(t *testing.T) {
	ch := newChain(t)
	doc := func(iri, note string) []byte {
		return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"` + iri + `"}],` +
			`"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-02T03:04:05Z","epcisBody":{"eventList":[` +
			`{"type":"ObjectEvent","action":"OBSERVE","bizStep":"storing","epcList":["` + item1 + `"],"eventTime":"2026-01-02T04:00:00Z",` +
			`"eventTimeZoneOffset":"+00:00","ex:note":"` + note + `"}]}}`)
	}
	a := ch.captureIDs(ch.wholesaler, doc("https://ns.example.com/a/", "one"))
	b := ch.captureIDs(ch.wholesaler, doc("https://ns.example.com/b/", "one"))
	c := ch.captureIDs(ch.wholesaler, doc("https://ns.example.com/a/", "two"))
	if a[0] == b[0] {
		t.Fatal("the same member in two namespaces hashed alike")
	}
	got, pages := ch.queryAll(ch.fda, url.Values{"perPage": {"10"}})
	if !slices.Equal(got, slices.Concat(a, b, c)) || pages != 3 {
		t.Fatalf("answered %v in %d pages, want %v %v %v in 3", got, pages, a, b, c)
	}
	first, _, err := ch.c.As(ch.fda).QueryEvents(ch.ctx, url.Values{"perPage": {"10"}})
	if err != nil || len(first.Context) != 2 || len(first.EPCISBody.QueryResults.ResultsBody.EventList) != 1 {
		t.Fatalf("first page: context %v, %v", first.Context, err)
	}
	if ns, _ := json.Marshal(first.Context[1]); string(ns) != `{"ex":"https://ns.example.com/a/"}` {
		t.Fatalf("first page's namespaces: %s", ns)
	}
}
