package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/supply"
)

// epcisDocFile writes an EPCISDocument of events (JSON members without their time) to a
// file and returns its path; first numbers the events' minutes so none hash alike.
func epcisDocFile(t *testing.T, first int, events ...string) string {
	var list []string
	for i, e := range events {
		list = append(list, fmt.Sprintf(`{%s,"eventTime":"2026-01-02T04:%02d:00Z","eventTimeZoneOffset":"+00:00"}`, e, first+i))
	}
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
		`"schemaVersion":"2.0","creationDate":"2026-01-02T03:04:05Z","epcisBody":{"eventList":[` + strings.Join(list, ",") + `]}}`
	f := filepath.Join(t.TempDir(), "doc.jsonld")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// epcisPartners registers and binds the partners of the EPCIS CLI stories: Acme (prefix
// 4012345, a GLN), the Corner Pharmacy (a GLN), a regulator and Rival (prefix 0888888).
func epcisPartners(cli func(args ...string) string) {
	for _, k := range []struct{ name, role, org string }{
		{"acme", "manufacturer", "Acme Pharma"}, {"pharmacy", "dispenser", "Corner Pharmacy"},
		{"fda", "regulator", "Drug Agency"}, {"rival", "manufacturer", "Rival"},
	} {
		cli("keys", "add", k.name)
		cli("identity", "register", "--as", "registrar", "--key", k.name, "--role", k.role, "--org", k.org)
	}
	cli("epcis", "bind", "--partner", "acme", "--prefix", "4012345", "--gln", "4012345000009")
	cli("epcis", "bind", "--partner", "pharmacy", "--gln", "0712345000002")
	cli("epcis", "bind", "--partner", "rival", "--prefix", "0888888")
}

// TestEpcisTraceSuspectsVerifyCommands: a pack goes from Acme in a case to the
// pharmacy; its trace, proven, shows the case's events; a receipt of a pack never
// shipped shows up in the regulator's and the pharmacy's suspects; and anyone verifies a
// pack's DataMatrix code without a keystore.
func TestEpcisTraceSuspectsVerifyCommands(t *testing.T) {
	home := epcisHome(t)
	p := startProc(t, home)
	try, cli := p.commands(t)
	epcisPartners(cli)

	item, item2, box := "urn:epc:id:sgtin:4012345.012345.1001", "urn:epc:id:sgtin:4012345.012345.1002", "urn:epc:id:sscc:4012345.0000000001"
	cli("epcis", "capture", "--as", "acme", epcisDocFile(t, 0,
		`"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","epcList":["`+item+`","`+item2+`"],"ilmd":{"cbvmda:lotNumber":"L1","cbvmda:itemExpirationDate":"2040-06-30"}`,
		`"type":"AggregationEvent","action":"ADD","bizStep":"packing","parentID":"`+box+`","childEPCs":["`+item+`"]`,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"storing","epcList":["`+box+`"]`))
	cli("epcis", "capture", "--as", "acme", epcisDocFile(t, 10,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","epcList":["`+box+`"],"destinationList":[{"type":"owning_party","destination":"urn:epc:id:pgln:0712345.00000"}]`))
	cli("epcis", "capture", "--as", "pharmacy", epcisDocFile(t, 20,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","epcList":["`+box+`"]`))

	// The trace, by Digital Link, as the pharmacy now in its custody: five events, the
	// case's storing via the case, all verified against the node's app hash.
	out := cli("epcis", "trace", supply.CanonicalID(item), "--as", "pharmacy")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 || !strings.Contains(lines[3], "storing") || !strings.HasSuffix(lines[3], "via "+supply.CanonicalID(box)) ||
		!strings.HasPrefix(lines[6], "verified: 2 records, 5 events") {
		t.Fatalf("trace printed:\n%s", out)
	}
	if out, err := try("epcis", "trace", item, "--as", "rival"); err == nil || !strings.Contains(out, "may not see the chain of custody") {
		t.Fatalf("an outsider's trace: %v\n%s", err, out)
	}
	if out, err := try("epcis", "trace", item, "--as", "fda", "--app-hash", strings.Repeat("00", 32)); err == nil || !strings.Contains(out, "does not verify") {
		t.Fatalf("a trace against a wrong app hash: %v\n%s", err, out)
	}

	// The pharmacy scans pack 2, which never left Acme: a suspect receipt.
	cli("epcis", "capture", "--as", "pharmacy", epcisDocFile(t, 30, `"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","epcList":["`+item2+`"]`))
	for _, who := range []string{"fda", "pharmacy", "acme"} {
		if out := cli("epcis", "suspects", "--as", who); !strings.HasPrefix(out, "1 unshipped_receipt "+supply.CanonicalID(item2)) {
			t.Fatalf("%s's suspects: %s", who, out)
		}
	}
	if out := cli("epcis", "suspects", "--as", "rival"); strings.TrimSpace(out) != "" {
		t.Fatalf("the rival sees suspects: %s", out)
	}
	if out := cli("epcis", "suspects", "--as", "fda", "--after", "1"); strings.TrimSpace(out) != "" {
		t.Fatalf("the page after the last: %s", out)
	}

	// Verification, without a keystore: the pack in the pharmacy is genuine, pack 2 is
	// suspect, a serial never made is unknown.
	for code, want := range map[string]string{
		"(01)04012345123456(21)1001(10)L1(17)400630":         "genuine: ",
		"https://id.gs1.org/01/04012345123456/21/1002?10=L1": "suspect: ",
		"(01)04012345123456(21)4242":                         "unknown: ",
	} {
		out := cli("epcis", "verify", code)
		if !strings.HasPrefix(out, want) || !strings.Contains(out, "verified at height") {
			t.Fatalf("verify %s printed %q, want %s...", code, out, want)
		}
	}
	if out, err := try("epcis", "verify", "(01)04012345123457(21)1"); err == nil || !strings.Contains(out, "check digit") {
		t.Fatalf("a misread code: %v\n%s", err, out)
	}

	// The regulator's investigation clears pack 2: a partner may not release it, the
	// regulator does with its reason, the regulator and the pack's owner see the release
	// (the rival does not), and a
	// second release of a pack no longer quarantined is refused.
	if out, err := try("epcis", "release", item2, "--as", "acme", "--reason", "it is ours"); err == nil || !strings.Contains(out, "only a regulator") {
		t.Fatalf("a manufacturer's release: %v\n%s", err, out)
	}
	if out, err := try("epcis", "release", item2, "--as", "fda"); err == nil || !strings.Contains(out, "--reason is required") {
		t.Fatalf("a release without a reason: %v\n%s", err, out)
	}
	if out := cli("epcis", "release", item2, "--as", "fda", "--reason", "the receipt was a scanning slip"); !strings.HasPrefix(out, "released 1 items at height") {
		t.Fatalf("the regulator's release printed %q", out)
	}
	for _, who := range []string{"fda", "acme"} {
		if out := cli("epcis", "releases", "--as", who); !strings.HasPrefix(out, "1 ") || !strings.Contains(out, supply.CanonicalID(item2)) ||
			!strings.Contains(out, `"the receipt was a scanning slip"`) {
			t.Fatalf("%s's releases: %s", who, out)
		}
	}
	if out := cli("epcis", "releases", "--as", "rival"); strings.TrimSpace(out) != "" {
		t.Fatalf("the rival sees releases: %s", out)
	}
	if out, err := try("epcis", "release", item2, "--as", "fda", "--reason", "again"); err == nil || !strings.Contains(out, "is not quarantined") {
		t.Fatalf("a second release: %v\n%s", err, out)
	}
}

// TestEPCISProofQueryAndLotTraceCommands: a query by EPC pattern with --proof prints the
// events and what it verified, page by page, and refuses an answer that does not verify;
// a lot trace lists every pack of the lot the caller may trace, where it is and who held
// it, proven.
func TestEPCISProofQueryAndLotTraceCommands(t *testing.T) {
	home := epcisHome(t)
	p := startProc(t, home)
	try, cli := p.commands(t)
	epcisPartners(cli)

	item, item2, box := "urn:epc:id:sgtin:4012345.012345.1001", "urn:epc:id:sgtin:4012345.012345.1002", "urn:epc:id:sscc:4012345.0000000001"
	cli("epcis", "capture", "--as", "acme", epcisDocFile(t, 0,
		`"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","epcList":["`+item+`","`+item2+`"],"ilmd":{"cbvmda:lotNumber":"L1"}`,
		`"type":"AggregationEvent","action":"ADD","bizStep":"packing","parentID":"`+box+`","childEPCs":["`+item+`"]`,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","epcList":["`+box+`"],"destinationList":[{"type":"owning_party","destination":"urn:epc:id:pgln:0712345.00000"}]`))
	cli("epcis", "capture", "--as", "pharmacy", epcisDocFile(t, 10,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","epcList":["`+box+`"],"bizLocation":{"id":"urn:epc:id:sgln:0712345.00000.0"}`))

	lines := func(out string) []string { return strings.Split(strings.TrimSpace(out), "\n") }
	got := lines(cli("epcis", "query", "--as", "fda", "--proof", "--perPage", "1", "--epc", "urn:epc:idpat:sgtin:4012345.012345.*"))
	if len(got) != 3 || !strings.Contains(got[0], "commissioning") || !strings.Contains(got[1], "packing") ||
		!strings.HasPrefix(got[2], "verified: 2 events in 2 pages") {
		t.Fatalf("the proven query printed:\n%s", strings.Join(got, "\n"))
	}
	if out, err := try("epcis", "query", "--as", "fda", "--proof", "--anyEPC", "urn:epc:idpat:sscc:4012345.*", "--app-hash", strings.Repeat("00", 32)); err == nil || !strings.Contains(out, "does not verify") {
		t.Fatalf("a proven query against a wrong app hash: %v\n%s", err, out)
	}

	// The lot: pack 1 in the case at the pharmacy, pack 2 still with Acme.
	got = lines(cli("epcis", "trace", "--as", "fda", "--lot", "L1", "04012345123456"))
	pack1, pack2 := supply.CanonicalID(item), supply.CanonicalID(item2)
	if len(got) != 4 || !strings.HasPrefix(got[0], "lot https://id.gs1.org/01/04012345123456/10/L1: no lot record") ||
		!strings.HasPrefix(got[1], pack1+" active owner ") || !strings.Contains(got[1], " in "+supply.CanonicalID(box)+" last receiving at urn:epc:id:sgln:0712345.00000.0 ") ||
		!strings.HasPrefix(got[2], pack2+" active owner ") || strings.Contains(got[2], " in ") ||
		!strings.HasPrefix(got[3], "verified: 2 packs") {
		t.Fatalf("the lot trace printed:\n%s", strings.Join(got, "\n"))
	}
	if got := lines(cli("epcis", "trace", "--as", "pharmacy", "--lot", "L1", "urn:epc:idpat:sgtin:4012345.012345.*")); len(got) != 3 || !strings.HasPrefix(got[1], pack1) {
		t.Fatalf("the pharmacy's lot trace:\n%s", strings.Join(got, "\n"))
	}
	if got := lines(cli("epcis", "trace", "--as", "rival", "--lot", "L1", "04012345123456")); len(got) != 2 || !strings.HasPrefix(got[1], "verified: 0 packs") {
		t.Fatalf("Rival's lot trace:\n%s", strings.Join(got, "\n"))
	}
	if out, err := try("epcis", "trace", "--as", "fda", "--lot", "L1", "0401234512345"); err == nil || !strings.Contains(out, "name no lot") {
		t.Fatalf("a lot of a 13-digit GTIN: %v\n%s", err, out)
	}
}
