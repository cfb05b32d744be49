package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRecordRecallsCommand: Acme's packs of lots L1 and L2 reach the pharmacy, whose
// pharmacist dispenses one of each to one patient and one of L1 to another, writing the
// MedicationDispense records with the CLI; Acme recalls L2. The first patient's check
// names exactly the pack of L2; the second's names none.
func TestRecordRecallsCommand(t *testing.T) {
	home := epcisHome(t)
	p := startProc(t, home)
	try, cli := p.commands(t)
	for _, k := range []struct{ name, role, org string }{
		{"acme", "manufacturer", "Acme Pharma"}, {"pharmacy", "dispenser", "Corner Pharmacy"}, {"lee", "provider", "Corner Pharmacy"},
	} {
		cli("keys", "add", k.name)
		args := []string{"identity", "register", "--as", "registrar", "--key", k.name, "--role", k.role, "--org", k.org}
		if k.role == "provider" {
			args = append(args, "--licence", "RPH-1")
		}
		cli(args...)
	}
	for _, pat := range []string{"ada", "cy"} {
		cli("keys", "add", pat)
		cli("identity", "register", "--as", "lee", "--key", pat, "--role", "patient")
	}
	cli("epcis", "bind", "--partner", "acme", "--prefix", "4012345", "--gln", "4012345000009")
	cli("epcis", "bind", "--partner", "pharmacy", "--gln", "0712345000002")

	sg := func(s string) string { return `"urn:epc:id:sgtin:4012345.012345.` + s + `"` }
	exp := time.Now().AddDate(2, 0, 0)
	commission := func(lot string, serials ...string) string {
		var l []string
		for _, s := range serials {
			l = append(l, sg(s))
		}
		return `"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","epcList":[` + strings.Join(l, ",") +
			`],"ilmd":{"cbvmda:lotNumber":"` + lot + `","cbvmda:itemExpirationDate":"` + exp.Format(time.DateOnly) + `"}`
	}
	cli("epcis", "capture", "--as", "acme", epcisDocFile(t, 0, commission("L1", "1", "2"), commission("L2", "3"),
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","epcList":[`+sg("1")+`,`+sg("2")+`,`+sg("3")+`],"destinationList":[{"type":"owning_party","destination":"urn:epc:id:pgln:0712345.00000"}]`))
	cli("epcis", "capture", "--as", "pharmacy", epcisDocFile(t, 10,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","epcList":[`+sg("1")+`,`+sg("2")+`,`+sg("3")+`]`,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"dispensing","epcList":[`+sg("1")+`,`+sg("2")+`,`+sg("3")+`]`))
	yymmdd := exp.Format("060102")
	wrote := regexp.MustCompile(`wrote (r-[0-9a-f]+) version 1 \(MedicationDispense of https://id.gs1.org/01/04012345123456/10/L2/21/3\?17=` + yymmdd + `\)`)
	cli("record", "dispense", "(01)04012345123456(21)1(10)L1(17)"+yymmdd, "--as", "lee", "--patient", "ada", "--medication", "Amoxicillin 500 mg")
	rec := wrote.FindStringSubmatch(cli("record", "dispense", "(01)04012345123456(21)3(10)L2(17)"+yymmdd, "--as", "lee", "--patient", "ada", "--medication", "Amoxicillin 500 mg"))
	if rec == nil {
		t.Fatal("record dispense printed no record id")
	}
	cli("record", "dispense", "(01)04012345123456(21)2(10)L1(17)"+yymmdd, "--as", "lee", "--patient", "cy", "--medication", "Amoxicillin 500 mg")

	if out := cli("record", "recalls", "--as", "ada"); out != "2 dispensed packs checked, 0 recalled or suspect\n" {
		t.Fatalf("before the recall: %q", out)
	}
	cli("epcis", "capture", "--as", "acme", epcisDocFile(t, 20,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"holding","disposition":"recalled","epcList":[],"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.L2"}]`))
	out := cli("record", "recalls", "--as", "ada")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "recalled: Amoxicillin 500 mg, lot L2, serial 3 (record "+rec[1]+"): ") ||
		lines[1] != "2 dispensed packs checked, 1 recalled or suspect" {
		t.Fatalf("ada's recalls:\n%s", out)
	}
	if out := cli("record", "recalls", "--as", "cy"); out != "1 dispensed packs checked, 0 recalled or suspect\n" {
		t.Fatalf("cy's recalls: %q", out)
	}
	// The verifications go where --verify-via says, the chart's reads to --node.
	if out := cli("record", "recalls", "--as", "ada", "--verify-via", p.api); !strings.Contains(out, "2 dispensed packs checked, 1 recalled or suspect") {
		t.Fatalf("via the same node's URL: %q", out)
	}
	if out, err := try("record", "recalls", "--as", "ada", "--verify-via", "http://127.0.0.1:1"); err == nil || !strings.Contains(out, "cannot reach the node at http://127.0.0.1:1") {
		t.Fatalf("via an unreachable node: %v %q", err, out)
	}
}
