package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestRecordCiteCommand: the CLI wiring of the cross-chain commands on one real node that
// is its own supply chain. `record cite` fetches the proven dispensing event from the
// supply node and submits the citation, which this chain refuses because it follows no
// supply chain with that client; `record citations` answers the record's patient; and the
// recognition commands report the missing client of a home shard.
func TestRecordCiteCommand(t *testing.T) {
	p := startProc(t, epcisHome(t))
	try, cli := p.commands(t)
	epcisPartners(cli)
	cli("keys", "add", "lee")
	cli("identity", "register", "--as", "registrar", "--key", "lee", "--role", "provider", "--org", "Corner Pharmacy", "--licence", "RPH-1")
	cli("keys", "add", "ada")
	cli("identity", "register", "--as", "lee", "--key", "ada", "--role", "patient")
	const pack = "urn:epc:id:sgtin:4012345.012345.1"
	cli("epcis", "capture", "--as", "acme", epcisDocFile(t, 0, `"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","epcList":["`+pack+`"]`))
	out := cli("epcis", "capture", "--as", "pharmacy", epcisDocFile(t, 1, `"type":"ObjectEvent","action":"OBSERVE","bizStep":"dispensing","epcList":["`+pack+`"]`))
	hashID, _, _ := strings.Cut(out, " ")
	rec := regexp.MustCompile(`wrote (r-[0-9a-f]+) version 1`).FindStringSubmatch(
		cli("record", "dispense", "(01)04012345123456(21)1", "--as", "lee", "--patient", "ada", "--medication", "Amoxicillin 500 mg"))
	if rec == nil {
		t.Fatal("record dispense printed no record id")
	}

	o, err := try("record", "cite", rec[1], "--as", "lee", "--supply-as", "pharmacy", "--supply-node", p.api, "--epc", pack, "--event", hashID)
	if err == nil || !strings.Contains(o, "no light client supply") {
		t.Fatalf("cite without a client of the supply chain: %v\n%s", err, o)
	}
	o, err = try("record", "cite", rec[1], "--as", "lee", "--supply-as", "pharmacy", "--supply-node", p.api, "--epc", pack, "--event", "ni:///sha-256;"+strings.Repeat("0", 64)+"?ver=CBV2.0")
	if err == nil || !strings.Contains(o, "no dispensing event") {
		t.Fatalf("cite of an event the supply chain does not answer: %v\n%s", err, o)
	}
	if o := cli("record", "citations", rec[1], "--as", "ada"); !strings.Contains(o, `"citations": []`) {
		t.Fatalf("citations of an uncited record: %s", o)
	}
	if o, err := try("record", "citations", rec[1], "--as", "fda"); err == nil {
		t.Fatalf("a regulator read the citations: %s", o)
	}
	if o, err := try("identity", "admit-home", "shard-a"); err == nil || !strings.Contains(o, "no light client shard-a") {
		t.Fatalf("admit an unknown client: %v\n%s", err, o)
	}
	if o, err := try("identity", "recognise", "lee", "--as", "ada", "--client", "shard-a", "--home-node", p.api); err == nil || !strings.Contains(o, "no light client shard-a") {
		t.Fatalf("recognise through an unknown client: %v\n%s", err, o)
	}
}
