package supply

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// TestParseQuery: the REST parameters, "|" lists and repeated parameters; every refusal
// names the parameter.
func TestParseQuery(t *testing.T) {
	q, pg, err := ParseQuery(url.Values{"eventType": {"ObjectEvent|AggregationEvent"}, "EQ_bizStep": {"urn:epcglobal:cbv:bizstep:shipping", "receiving"},
		"MATCH_epc": {"urn:epc:id:sgtin:4012345.012345.1001"}, "GE_eventTime": {"2026-01-02T03:04:05 01:00"}, "perPage": {"5"}, "nextPageToken": {"12"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.EventTypes) != 2 || q.BizSteps[0] != "shipping" || q.BizSteps[1] != "receiving" || q.EPC[0].ID != "https://id.gs1.org/01/04012345123456/21/1001" {
		t.Fatalf("parsed %+v", q)
	}
	if q.From.UTC().Format("15:04") != "02:04" || pg.PerPage != 5 || pg.After != 12 {
		t.Fatalf("time %s (an unescaped + arrives as a space), page %+v", q.From, pg)
	}
	for param, v := range map[string]string{"foo": "1", "EQ_action": "MOVE", "perPage": "1001", "LT_eventTime": "2026-01-02", "MATCH_anyEPC": "urn:epc:idpat:sgtin:4012345.*", "eventType": ""} {
		_, _, err := ParseQuery(url.Values{param: {v}})
		var qe *QueryError
		if !errors.As(err, &qe) || qe.Param != param || !strings.Contains(err.Error(), "parameter "+param) {
			t.Errorf("%s=%q: %v", param, v, err)
		}
	}
}

// TestQueryMatch: each field as the standard reads it.
func TestQueryMatch(t *testing.T) {
	ev := &StoredEvent{Event: []byte(`{"type":"AggregationEvent","action":"ADD","bizStep":"https://ref.gs1.org/cbv/BizStep-packing",
		"disposition":"in_progress","parentID":"urn:epc:id:sscc:4012345.0000000001","childEPCs":["urn:epc:id:sgtin:4012345.012345.1001"],
		"eventTime":"2026-01-02T04:00:00.000+01:00","bizLocation":{"id":"urn:epc:id:sgln:4012345.00000.0"}}`)}
	for _, c := range []struct {
		params string
		want   bool
	}{
		{"", true},
		{"eventType=AggregationEvent", true},
		{"eventType=ObjectEvent", false},
		{"MATCH_epc=urn:epc:id:sgtin:4012345.012345.1001", true},
		{"MATCH_epc=urn:epc:id:sscc:4012345.0000000001", false}, // parentID is not MATCH_epc
		{"MATCH_anyEPC=urn:epc:id:sscc:4012345.0000000001", true},
		{"MATCH_parentID=https://id.gs1.org/00/040123450000000016", true},
		{"EQ_action=ADD", true},
		{"EQ_bizStep=packing", true},
		{"EQ_bizStep=shipping", false},
		{"EQ_disposition=urn:epcglobal:cbv:disp:in_progress", true},
		{"EQ_bizLocation=https://id.gs1.org/414/4012345000009", true},
		{"EQ_readPoint=urn:epc:id:sgln:4012345.00000.0", false},
		{"GE_eventTime=2026-01-02T03:00:00Z", true},
		{"LT_eventTime=2026-01-02T03:00:00Z", false},
		{"GE_eventTime=2026-01-02T03:00:00.001Z", false},
	} {
		v, _ := url.ParseQuery(c.params)
		q, _, err := ParseQuery(v)
		if err != nil {
			t.Fatalf("%s: %v", c.params, err)
		}
		if got := q.Match(ev); got != c.want {
			t.Errorf("%s: match %v, want %v", c.params, got, c.want)
		}
	}
}
