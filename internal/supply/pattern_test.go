package supply

import (
	"strings"
	"testing"
)

// TestPatternParse: EPC pattern URIs of each level, their Digital Link form, and every
// malformed pattern refused with what is wrong.
func TestPatternParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want EPCValue
	}{
		{"urn:epc:idpat:sgtin:0614141.107346.*", EPCValue{Pattern: &Pattern{AI: "01", Class: "10614141073464"}}},
		{"https://id.gs1.org/01/10614141073464", EPCValue{Pattern: &Pattern{AI: "01", Class: "10614141073464"}}},
		{"https://example.com/gtin/10614141073464", EPCValue{Pattern: &Pattern{AI: "01", Class: "10614141073464"}}},
		{"urn:epc:idpat:sgtin:0614141.*.*", EPCValue{Pattern: &Pattern{AI: "01", Company: "0614141"}}},
		{"urn:epc:idpat:sgtin:*.*.*", EPCValue{Pattern: &Pattern{AI: "01"}}},
		{"urn:epc:idpat:sscc:0614141.*", EPCValue{Pattern: &Pattern{AI: "00", Company: "0614141"}}},
		{"urn:epc:idpat:sgln:0614141.00888.*", EPCValue{Pattern: &Pattern{AI: "414", Class: "0614141008889"}}},
		{"urn:epc:idpat:sgtin:0614141.107346.2018", EPCValue{ID: "https://id.gs1.org/01/10614141073464/21/2018"}},
		{"urn:epc:id:sgtin:0614141.107346.2018", EPCValue{ID: "https://id.gs1.org/01/10614141073464/21/2018"}},
	} {
		got, err := ParseEPCValue(c.in)
		if err != nil || got.ID != c.want.ID || (got.Pattern == nil) != (c.want.Pattern == nil) || (got.Pattern != nil && *got.Pattern != *c.want.Pattern) {
			t.Errorf("%s: %+v %v, want %+v", c.in, got, err, c.want)
		}
	}
	for in, why := range map[string]string{
		"urn:epc:idpat:sgtin:0614141.*.2018":   "after a *",
		"urn:epc:idpat:sgtin:0614141.107346":   "3 fields",
		"urn:epc:idpat:giai:0614141.*":         "sgtin, sscc and sgln",
		"urn:epc:idpat:sgtin:06141.*.*":        "6 to 12 digits",
		"urn:epc:idpat:sgtin:0614141.1073.*":   "13 digits together",
		"urn:epc:idpat:sgtin:06a4141.107346.*": "digits",
		"urn:epc:id:sgtin:0614141.107346.*":    "not an EPC pattern URI",
	} {
		if _, err := ParseEPCValue(in); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: %v, want an error saying %q", in, err, why)
		}
	}
}

// TestPatternMatches: each level matches its identifiers in either syntax and nothing of
// another scheme, class or company; a company prefix is matched on the key's digits, so
// an SGTIN's indicator digit does not hide it.
func TestPatternMatches(t *testing.T) {
	pack := CanonicalID("urn:epc:id:sgtin:0614141.107346.2018")
	other := CanonicalID("urn:epc:id:sgtin:0614141.007347.1")
	foreign := CanonicalID("urn:epc:id:sgtin:4012345.012345.1")
	box := CanonicalID("urn:epc:id:sscc:0614141.1234567890")
	place := CanonicalID("urn:epc:id:sgln:0614141.00888.12")
	for _, c := range []struct {
		pat  string
		hits []string
		miss []string
	}{
		{"urn:epc:idpat:sgtin:0614141.107346.*", []string{pack}, []string{other, foreign, box}},
		{"urn:epc:idpat:sgtin:0614141.*.*", []string{pack, other}, []string{foreign, box, place}},
		{"urn:epc:idpat:sgtin:061414.*.*", []string{pack, other}, []string{foreign}},
		{"urn:epc:idpat:sgtin:*.*.*", []string{pack, other, foreign}, []string{box, place}},
		{"urn:epc:idpat:sscc:0614141.*", []string{box}, []string{pack}},
		{"urn:epc:idpat:sgln:0614141.00888.*", []string{place, CanonicalID("urn:epc:id:sgln:0614141.00888.0")}, []string{box}},
		{"urn:epc:idpat:sgln:0614141.*.*", []string{place}, []string{pack}},
	} {
		v, err := ParseEPCValue(c.pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range c.hits {
			if !v.Matches(id) {
				t.Errorf("%s does not match %s", c.pat, id)
			}
		}
		for _, id := range append(c.miss, "urn:example:private", "") {
			if v.Matches(id) {
				t.Errorf("%s matches %s", c.pat, id)
			}
		}
	}
}
