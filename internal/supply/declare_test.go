package supply

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestErrorDeclarationParse(t *testing.T) {
	d, err := declarationOf([]byte(`{"type":"ObjectEvent","errorDeclaration":{"declarationTime":"2026-02-01T00:00:00.5+01:00","reason":"urn:epcglobal:cbv:er:did_not_occur","correctiveEventIDs":["urn:uuid:a","ni:///sha-256;x?ver=CBV2.0"],"example:note":"x"}}`))
	if err != nil || d.Time != "2026-02-01T00:00:00.5+01:00" || ErrorReason(d.Reason) != ErrorDidNotOccur || len(d.Corrective) != 2 {
		t.Fatalf("%+v, %v", d, err)
	}
	if d, err := declarationOf([]byte(`{"type":"ObjectEvent"}`)); d != nil || err != nil {
		t.Fatalf("an event without a declaration: %+v, %v", d, err)
	}
	many := `["` + strings.Repeat(`u","`, MaxCorrective) + `u"]`
	for name, ed := range map[string]string{
		"not an object":           `[]`,
		"null":                    `null`,
		"no time":                 `{"reason":"did_not_occur"}`,
		"time not a string":       `{"declarationTime":5}`,
		"time without offset":     `{"declarationTime":"2026-02-01T00:00:00"}`,
		"reason not a string":     `{"declarationTime":"2026-02-01T00:00:00Z","reason":["did_not_occur"]}`,
		"corrective not an array": `{"declarationTime":"2026-02-01T00:00:00Z","correctiveEventIDs":"urn:uuid:a"}`,
		"corrective id empty":     `{"declarationTime":"2026-02-01T00:00:00Z","correctiveEventIDs":[""]}`,
		"too many corrective ids": `{"declarationTime":"2026-02-01T00:00:00Z","correctiveEventIDs":` + many + `}`,
	} {
		if d, err := declarationOf([]byte(`{"type":"ObjectEvent","errorDeclaration":` + ed + `}`)); err == nil {
			t.Errorf("%s: accepted as %+v", name, d)
		}
	}
}

// The declared event is answered as first captured with the declaration's member added;
// it stays one JSON object.
func TestErrorDeclarationMember(t *testing.T) {
	d := &declared{raw: json.RawMessage(`{"declarationTime":"2026-02-01T00:00:00Z"}`)}
	got := withDeclaration([]byte(`{"type":"ObjectEvent","epcList":[]}`), d)
	if string(got) != `{"type":"ObjectEvent","epcList":[],"errorDeclaration":{"declarationTime":"2026-02-01T00:00:00Z"}}` {
		t.Fatalf("%s", got)
	}
	if got := withDeclaration([]byte(`{}`), d); string(got) != `{"errorDeclaration":{"declarationTime":"2026-02-01T00:00:00Z"}}` || !json.Valid(got) {
		t.Fatalf("%s", got)
	}
}

func TestCustodyVoidVerdict(t *testing.T) {
	c, err := ParseCode("(01)04012345123456(21)1001")
	if err != nil {
		t.Fatal(err)
	}
	if v := Judge(c, &Public{ID: c.ItemID(), Status: StatusVoid}, nil, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); v.Answer != AnswerSuspect {
		t.Fatalf("a void pack: %+v", v)
	}
}
