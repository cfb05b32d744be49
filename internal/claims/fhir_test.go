package claims

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const sampleClaim = `{"resourceType":"Claim","id":"c1","type":{"coding":[{"code":"institutional"}]},
 "billablePeriod":{"start":"1991-06-07T23:37:54+00:00"},
 "insurance":[{"coverage":{"display":"private"},"preAuthRef":["pa-1"]}],
 "item":[{"sequence":1,"productOrService":{"coding":[{"system":"http://snomed.info/sct","code":"185349003"}]},"encounter":[{"reference":"urn:uuid:e"}]},
         {"sequence":2,"productOrService":{"coding":[{"system":"http://snomed.info/sct","code":"162864005"}]}},
         {"sequence":3,"productOrService":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}]},"net":{"value":140.52,"currency":"USD"}}],
 "total":{"value":265.52,"currency":"USD"}}`

func TestParseFHIRClaim(t *testing.T) {
	c, err := ParseFHIRClaim([]byte(sampleClaim))
	if err != nil {
		t.Fatal(err)
	}
	if c.ServiceDate != "1991-06-07" || c.Total != 26552 || len(c.Lines) != 2 || c.Coverage != "private" || c.PriorAuths[0] != "pa-1" {
		t.Fatalf("parsed %+v", c)
	}
	// The encounter line carries the rest of the total; the finding without a net is left out.
	if c.Lines[0].Seq != 1 || c.Lines[0].Charge != 12500 || c.Lines[1].Seq != 3 || c.Lines[1].Charge != 14052 {
		t.Fatalf("lines %+v", c.Lines)
	}
	b := c.Submission("p", "i", EncounterRef{Record: "r", Version: 1, Digest: strings.Repeat("ab", 32)})
	if err := b.validate(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("a Synthea claim does not validate: %v", err)
	}
}

func TestParseFHIRClaimRejects(t *testing.T) {
	for name, raw := range map[string]string{
		"not JSON":        `{"resourceType":`,
		"other resource":  `{"resourceType":"Patient"}`,
		"no date":         strings.Replace(sampleClaim, "1991-06-07T23:37:54+00:00", "yesterday", 1),
		"euro":            strings.Replace(sampleClaim, `140.52,"currency":"USD"`, `140.52,"currency":"EUR"`, 1),
		"negative net":    strings.Replace(sampleClaim, "140.52", "-140.52", 1),
		"uncoded item":    strings.Replace(sampleClaim, `"productOrService":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}]}`, `"productOrService":{"text":"x"}`, 1),
		"nothing billed":  `{"resourceType":"Claim","id":"x","billablePeriod":{"start":"2020-01-01"},"item":[]}`,
		"bad quantity":    strings.Replace(sampleClaim, `"sequence":3,`, `"sequence":3,"quantity":{"value":0.5},`, 1),
		"string amount":   strings.Replace(sampleClaim, "140.52", `"140.52"`, 1),
		"exponent amount": strings.Replace(sampleClaim, "140.52", "1.4052e2", 1),
	} {
		if _, err := ParseFHIRClaim([]byte(raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFindFHIRClaimInBundle(t *testing.T) {
	bundle := `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}},{"resource":` + sampleClaim + `}]}`
	if c, err := FindFHIRClaim([]byte(bundle), "c1"); err != nil || c.ID != "c1" {
		t.Fatalf("claim in bundle: %v %v", c, err)
	}
	if _, err := FindFHIRClaim([]byte(bundle), "nope"); err == nil {
		t.Fatal("found a claim id the bundle does not hold")
	}
}

func TestClaimResponseIsFHIRShaped(t *testing.T) {
	c := &Claim{ID: "cl-1", Patient: "p", Insurer: "i", Provider: "d", ServiceDate: "2024-01-01", Submitted: 300, Payable: 90,
		Lines: []Line{
			{LineInput: l(1, sct, "1", 100), Result: Result{Outcome: Approved, Allowed: 100, Copay: 10, Payer: 90}},
			{LineInput: l(2, sct, "4", 200), Result: Result{Outcome: Denied, Reasons: []Reason{ReasonNotCovered}},
				Appeal: &Appeal{Reason: "r", Status: AppealUpheld}},
		}}
	c.Status = c.status()
	for _, r := range []*ClaimResponseResource{c.ClaimResponse(), c.ExplanationOfBenefit()} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		items := back["item"].([]any)
		adj := items[1].(map[string]any)["adjudication"].([]any)
		reason := adj[len(adj)-1].(map[string]any)["reason"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if reason["code"] != "204" || reason["system"] != ReasonSystem || len(back["processNote"].([]any)) != 1 {
			t.Fatalf("%s: %s", r.ResourceType, b)
		}
		if !strings.Contains(string(b), `"value":0.90`) || !strings.Contains(string(b), `"currency":"USD"`) {
			t.Fatalf("%s amounts: %s", r.ResourceType, b)
		}
	}
}
