package supply

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/state"
)

// queryLedger is a real state store with a generated supply chain on it: Acme (prefix
// 4012345) and Globex (0614141) commission packs of two GTINs each in lots, pack them
// into cases, store and ship the cases to the wholesaler, who receives them; events are
// spread over 2024-2026 and two locations. It returns the committed view.
func queryLedger(t testing.TB) (*state.View, []*identity.Identity) {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acme := &identity.Identity{ID: "acme", Role: identity.Manufacturer, Active: true}
	globex := &identity.Identity{ID: "globex", Role: identity.Manufacturer, Active: true}
	wholesaler := &identity.Identity{ID: "wholesaler", Role: identity.Wholesaler, Active: true}
	st.Set(PartnerKey("acme"), encode(&Partner{ID: "acme", Prefixes: []string{"4012345"}}))
	st.Set(PartnerKey("globex"), encode(&Partner{ID: "globex", Prefixes: []string{"0614141"}}))
	st.Set(PartnerKey("wholesaler"), encode(&Partner{ID: "wholesaler", GLNs: []string{"0712345000002"}}))
	st.Set(glnKey("0712345000002"), []byte("wholesaler"))
	n := 0
	capture := func(who *identity.Identity, events ...string) {
		t.Helper()
		var list []string
		for _, e := range events {
			n++
			// Months and days vary so the time index spans years, months and days.
			list = append(list, fmt.Sprintf(`{%s,"eventTime":"%d-%02d-%02dT%02d:%02d:00Z","eventTimeZoneOffset":"+00:00"}`,
				e, 2024+n%3, 1+n%12, 1+n%28, n%24, n%60))
		}
		doc := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
			`"schemaVersion":"2.0","creationDate":"2026-01-02T03:04:05Z","epcisBody":{"eventList":[` + strings.Join(list, ",") + `]}}`
		env := identity.Env{Height: int64(n), TxHash: fmt.Sprintf("%064x", n), Signer: who}
		if err := ExecCapture(st, env, who.ID, &CaptureBody{Document: []byte(doc)}); err != nil {
			t.Fatalf("capture by %s: %v", who.ID, err)
		}
	}
	for c := range 12 {
		who, cp, ref := acme, "4012345", []string{"012345", "012346"}[c%2]
		if c%3 == 2 {
			who, cp, ref = globex, "0614141", []string{"107346", "107347"}[c%2]
		}
		var packs []string
		for s := range 4 {
			packs = append(packs, fmt.Sprintf(`"urn:epc:id:sgtin:%s.%s.%d"`, cp, ref, c*10+s))
		}
		box := fmt.Sprintf("urn:epc:id:sscc:%s.%010d", cp, c+1)
		if len(cp) == 7 && cp == "0614141" {
			box = fmt.Sprintf("urn:epc:id:sscc:%s.%010d", cp, c+1)
		}
		loc := []string{"urn:epc:id:sgln:4012345.00000.0", "urn:epc:id:sgln:0614141.00888.0"}[c%2]
		capture(who,
			`"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","disposition":"active","epcList":[`+strings.Join(packs, ",")+
				`],"ilmd":{"cbvmda:lotNumber":"L`+fmt.Sprint(c%3)+`"},"bizLocation":{"id":"`+loc+`"}`,
			`"type":"AggregationEvent","action":"ADD","bizStep":"packing","disposition":"in_progress","parentID":"`+box+`","childEPCs":[`+strings.Join(packs, ",")+`]`,
			`"type":"ObjectEvent","action":"OBSERVE","bizStep":"storing","epcList":["`+box+`"],"bizLocation":{"id":"`+loc+`"}`)
		if c%2 == 0 {
			capture(who, `"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","disposition":"in_transit","epcList":["`+box+
				`"],"destinationList":[{"type":"owning_party","destination":"urn:epc:id:pgln:0712345.00000"}]`)
			capture(wholesaler, `"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","disposition":"in_progress","epcList":["`+box+`"]`)
		}
	}
	if _, err := st.Commit(1); err != nil {
		t.Fatal(err)
	}
	regulator := &identity.Identity{ID: "fda", Role: identity.Regulator, Active: true}
	return st.Committed(), []*identity.Identity{regulator, acme, globex, wholesaler}
}

// countingReader counts the stored events a query reads.
type countingReader struct {
	RangeReader
	events int
}

func (c *countingReader) Get(k []byte) []byte {
	if strings.HasPrefix(string(k), "epcis/ev/") {
		c.events++
	}
	return c.RangeReader.Get(k)
}

// queryAll follows every page of q and returns the answered sequence numbers.
func queryAll(t *testing.T, r RangeReader, who *identity.Identity, q *Query, per int) []uint64 {
	var out []uint64
	pg := Page{PerPage: per}
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the pages never end")
		}
		page := RunQuery(r, who, q, pg)
		for _, ev := range page.Events {
			out = append(out, ev.Seq)
		}
		if page.Next == 0 {
			return out
		}
		if page.Next <= pg.After {
			t.Fatalf("the next page token %d does not move on from %d", page.Next, pg.After)
		}
		pg.After = page.Next
	}
}

// TestQueryIndexesAgreeWithMatch: for every query, as each partner and the regulator and
// with every page size, the indexed answer is exactly what reading every event and
// checking it (Match, Visible) answers, in ledger order.
func TestQueryIndexesAgreeWithMatch(t *testing.T) {
	v, who := queryLedger(t)
	total := EventCount(v)
	queries := []string{
		"",
		"eventType=AggregationEvent",
		"eventType=ObjectEvent|AggregationEvent&EQ_bizStep=packing|shipping",
		"EQ_bizStep=urn:epcglobal:cbv:bizstep:storing",
		"EQ_disposition=in_transit",
		"EQ_disposition=https://ref.gs1.org/cbv/Disp-in_progress&eventType=ObjectEvent",
		"MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.*",
		"MATCH_epc=https://id.gs1.org/01/10614141073464",
		"MATCH_epc=urn:epc:idpat:sgtin:4012345.*.*&EQ_bizStep=commissioning",
		"MATCH_epc=urn:epc:idpat:sgtin:*.*.*",
		"MATCH_anyEPC=urn:epc:idpat:sscc:0614141.*",
		"MATCH_parentID=urn:epc:idpat:sscc:4012345.*",
		"MATCH_epc=urn:epc:idpat:sscc:4012345.*",
		"MATCH_anyEPC=urn:epc:idpat:sgtin:401234.*.*", // a shorter prefix is another company's
		"MATCH_epc=urn:epc:id:sgtin:4012345.012345.1",
		"MATCH_epc=urn:epc:idpat:sgtin:4012345.012345.0|urn:epc:idpat:sscc:0614141.*",
		"GE_eventTime=2025-03-01T00:00:00Z",
		"LT_eventTime=2025-03-01T12:00:00Z",
		"GE_eventTime=2024-02-10T00:00:00Z&LT_eventTime=2026-11-03T06:30:00+01:00",
		"GE_eventTime=2025-05-06T05:00:00Z&LT_eventTime=2025-05-06T05:05:00Z",
		"GE_eventTime=2030-01-01T00:00:00Z",
		"EQ_bizLocation=urn:epc:id:sgln:0614141.00888.0&EQ_bizStep=storing",
		"EQ_action=ADD&eventType=AggregationEvent",
		"EQ_readPoint=urn:epc:id:sgln:4012345.00000.0",
	}
	answered := 0
	for _, raw := range queries {
		params, _ := url.ParseQuery(raw)
		q, _, err := ParseQuery(params)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		for _, w := range who {
			var want []uint64
			for seq := uint64(1); seq <= total; seq++ {
				ev := GetEvent(v, DigestAt(v, seq))
				if (w.Role == identity.Regulator || Visible(v, w.ID, seq)) && q.Match(ev) {
					want = append(want, seq)
				}
			}
			if w.Role == identity.Regulator && len(want) > 0 && len(want) < int(total) {
				answered++
			}
			for _, per := range []int{1, 3, DefaultPerPage} {
				if got := queryAll(t, v, w, q, per); !slices.Equal(got, want) {
					t.Errorf("%s as %s by pages of %d: %v, want %v", raw, w.ID, per, got, want)
				}
			}
		}
	}
	if answered < len(queries)-4 { // no filter, the far future, a foreign prefix, none at that place
		t.Fatalf("only %d of %d queries select some but not all events: the ledger does not exercise them", answered, len(queries))
	}
}

// TestQueryReadsOnlyIndexedEvents: a query whose parameters are all indexed reads from the
// state exactly the events it answers, however many others the ledger holds.
func TestQueryReadsOnlyIndexedEvents(t *testing.T) {
	v, who := queryLedger(t)
	for _, c := range []struct {
		params string
		want   int
	}{
		{"MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.*&EQ_bizStep=packing", 2},
		{"MATCH_anyEPC=urn:epc:idpat:sscc:4012345.*&EQ_disposition=in_transit&eventType=ObjectEvent", 4},
		{"EQ_bizStep=receiving&GE_eventTime=2025-01-01T00:00:00Z&LT_eventTime=2026-01-01T00:00:00Z", 2},
		{"eventType=AggregationEvent&EQ_bizLocation=urn:epc:id:sgln:0614141.00888.0", 0},
	} {
		params, _ := url.ParseQuery(c.params)
		q, _, err := ParseQuery(params)
		if err != nil {
			t.Fatal(err)
		}
		r := &countingReader{RangeReader: v}
		page := RunQuery(r, who[0], q, Page{PerPage: MaxPerPage})
		if len(page.Events) != c.want || r.events != c.want {
			t.Errorf("%s: %d events answered, %d read from the %d on the ledger; want %d and %d", c.params, len(page.Events), r.events, EventCount(v), c.want, c.want)
		}
	}
}

// TestQueryScanBudget: a page that reaches its budget of index entries ends early, maybe
// empty, with a token that moves on; following the tokens answers what one unbounded
// page does.
func TestQueryScanBudget(t *testing.T) {
	v, who := queryLedger(t)
	for _, raw := range []string{"MATCH_anyEPC=urn:epc:idpat:sscc:4012345.*&EQ_bizStep=receiving", "MATCH_epc=urn:epc:idpat:sgtin:0614141.*.*&eventType=AggregationEvent", ""} {
		params, _ := url.ParseQuery(raw)
		q, _, err := ParseQuery(params)
		if err != nil {
			t.Fatal(err)
		}
		want := queryAll(t, v, who[0], q, MaxPerPage)
		for _, budget := range []int{1, 2, 5} {
			var got []uint64
			pg, pages, short := Page{PerPage: MaxPerPage}, 0, 0
			for ; pages < 1000; pages++ {
				page := runQuery(v, who[0], q, pg, budget)
				for _, ev := range page.Events {
					got = append(got, ev.Seq)
				}
				if page.Next == 0 {
					break
				}
				if page.Next <= pg.After {
					t.Fatalf("%s, budget %d: token %d after %d", raw, budget, page.Next, pg.After)
				}
				short++
				pg.After = page.Next
			}
			if !slices.Equal(got, want) || short == 0 {
				t.Errorf("%s, budget %d: %v in %d pages (%d cut short), want %v", raw, budget, got, pages+1, short, want)
			}
		}
	}
}
