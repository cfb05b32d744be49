package main

import (
	"strings"
	"testing"
)

// TestEpcisQueryCommand: the EPCIS query with GS1's parameters as flags, every page
// followed; each partner sees its own and its custody's events, an outsider nothing of
// them; an unknown parameter is refused by name.
func TestEpcisQueryCommand(t *testing.T) {
	home := epcisHome(t)
	p := startProc(t, home)
	try, cli := p.commands(t)
	epcisPartners(cli)

	item, box, rivalItem := "urn:epc:id:sgtin:4012345.012345.1001", "urn:epc:id:sscc:4012345.0000000001", "urn:epc:id:sgtin:0888888.012345.7"
	cli("epcis", "capture", "--as", "acme", epcisDocFile(t, 0,
		`"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","epcList":["`+item+`"]`,
		`"type":"AggregationEvent","action":"ADD","bizStep":"packing","parentID":"`+box+`","childEPCs":["`+item+`"],"bizLocation":{"id":"urn:epc:id:sgln:4012345.00000.0"}`,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","disposition":"in_transit","epcList":["`+box+`"],"destinationList":[{"type":"owning_party","destination":"urn:epc:id:pgln:0712345.00000"}]`))
	cli("epcis", "capture", "--as", "pharmacy", epcisDocFile(t, 10, `"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","epcList":["`+box+`"]`))
	cli("epcis", "capture", "--as", "rival", epcisDocFile(t, 20, `"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","epcList":["`+rivalItem+`"]`))

	lines := func(out string) []string {
		if s := strings.TrimSpace(out); s != "" {
			return strings.Split(s, "\n")
		}
		return nil
	}
	for _, c := range []struct {
		args []string
		want []string // a word of each line, in order
	}{
		{[]string{"--as", "fda"}, []string{"commissioning", "packing", "shipping", "receiving", "commissioning"}},
		{[]string{"--as", "fda", "--perPage", "1"}, []string{"commissioning", "packing", "shipping", "receiving", "commissioning"}},
		{[]string{"--as", "fda", "--bizStep", "shipping"}, []string{"ObjectEvent shipping"}},
		{[]string{"--as", "fda", "--epc", item, "--perPage", "1"}, []string{"commissioning", "packing"}},
		{[]string{"--as", "fda", "--anyEPC", box}, []string{"packing", "shipping", "receiving"}},
		{[]string{"--as", "fda", "--eventType", "AggregationEvent"}, []string{"AggregationEvent packing"}},
		{[]string{"--as", "fda", "--disposition", "in_transit"}, []string{"shipping"}},
		{[]string{"--as", "fda", "--bizLocation", "urn:epc:id:sgln:4012345.00000.0"}, []string{"packing"}},
		{[]string{"--as", "fda", "--from", "2026-01-02T04:01:00Z", "--to", "2026-01-02T04:11:00Z"}, []string{"packing", "shipping", "receiving"}},
		{[]string{"--as", "fda", "--param", "EQ_action=ADD", "--epc", item, "--epc", rivalItem}, []string{"commissioning", "packing", "commissioning"}},
		// The pharmacy received the case: it sees the case's and the pack's history, not Rival's.
		{[]string{"--as", "pharmacy"}, []string{"commissioning", "packing", "shipping", "receiving"}},
		{[]string{"--as", "rival"}, []string{"commissioning"}},
		{[]string{"--as", "rival", "--anyEPC", box}, nil},
	} {
		got := lines(cli(append([]string{"epcis", "query"}, c.args...)...))
		ok := len(got) == len(c.want)
		for i := 0; ok && i < len(got); i++ {
			ok = strings.Contains(got[i], c.want[i]) && strings.HasPrefix(got[i], "ni:///sha-256;")
		}
		if !ok {
			t.Fatalf("epcis query %v printed:\n%s\nwant lines with %v", c.args, strings.Join(got, "\n"), c.want)
		}
	}
	if out := cli("epcis", "query", "--as", "fda", "--json", "--perPage", "2"); len(lines(out)) != 3 || !strings.Contains(out, `"type":"EPCISQueryDocument"`) {
		t.Fatalf("--json by pages of 2 printed:\n%s", out)
	}
	if out, err := try("epcis", "query", "--as", "fda", "--param", "EQ_bizstep=shipping"); err == nil || !strings.Contains(out, "parameter EQ_bizstep") {
		t.Fatalf("an unknown parameter: %v\n%s", err, out)
	}
	if out, err := try("epcis", "query", "--as", "registrar"); err == nil || !strings.Contains(out, "may not see EPCIS events") {
		t.Fatalf("the registrar's query: %v\n%s", err, out)
	}
}
