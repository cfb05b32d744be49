package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEraseAndHoldCommands: a patient's erasure is refused under an auditor's legal hold,
// goes through once the hold is lifted, and the record then reads as erased, for the
// patient too; the CLI refuses an erasure that names nothing or two things.
func TestEraseAndHoldCommands(t *testing.T) {
	home := initHome(t)
	p := startProc(t, home)
	run2, cli := p.commands(t)
	for _, k := range []string{"dr", "pat", "aud"} {
		cli("keys", "add", k)
	}
	cli("identity", "register", "--as", "registrar", "--key", "dr", "--role", "provider", "--org", "St Mary", "--licence", "MD-1")
	cli("identity", "register", "--as", "registrar", "--key", "aud", "--role", "auditor")
	cli("identity", "register", "--as", "dr", "--key", "pat", "--role", "patient")
	obs := filepath.Join(t.TempDir(), "obs.json")
	if err := os.WriteFile(obs, []byte(`{"resourceType":"Observation","status":"final","code":{"text":"BP"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := regexp.MustCompile(`wrote (r-[0-9a-f]+)`).FindStringSubmatch(cli("record", "put", obs, "--as", "dr", "--patient", "pat"))
	if rec == nil {
		t.Fatal("no record id")
	}
	cli("record", "get", rec[1], "--as", "pat", "--patient", "pat")

	hold := regexp.MustCompile(`hold (h-[0-9a-f]+) placed`).FindStringSubmatch(cli("hold", "place", "pat", "--as", "aud", "--reason", "litigation"))
	if hold == nil {
		t.Fatal("no hold id")
	}
	if out, err := run2("record", "erase", rec[1], "--as", "pat"); err == nil || !strings.Contains(out, "erasure/5") {
		t.Fatalf("erasure under a legal hold went through: %v\n%s", err, out)
	}
	cli("record", "get", rec[1], "--as", "pat", "--patient", "pat") // still there
	cli("hold", "lift", "pat", hold[1], "--as", "aud", "--reason", "case closed")
	if out := cli("record", "erase", rec[1], "--as", "pat"); !strings.Contains(out, "erased record "+rec[1]) {
		t.Fatalf("erase: %s", out)
	}
	if out, err := run2("record", "get", rec[1], "--as", "pat", "--patient", "pat"); err == nil || !strings.Contains(out, "erased") {
		t.Fatalf("an erased record still reads: %v\n%s", err, out)
	}
	// Retention: the registrar sets a period; nothing is due on a new chain.
	if out, err := run2("retention", "set", "general", "30", "--as", "dr", "--reason", "x"); err == nil || !strings.Contains(out, "erasure/1") {
		t.Fatalf("a provider set a retention period: %v\n%s", err, out)
	}
	if out, err := run2("retention", "set", "general", "40000", "--as", "registrar", "--reason", "x"); err == nil || !strings.Contains(out, "1 to 36500 days") {
		t.Fatalf("a 40000-day period: %v\n%s", err, out)
	}
	cli("retention", "set", "general", "3650", "--as", "registrar", "--reason", "ten years after the last entry")
	if out := cli("retention", "list"); !strings.Contains(out, "general") || !strings.Contains(out, "3650 days") {
		t.Fatalf("retention list: %s", out)
	}
	if out := cli("retention", "due", "--as", "aud"); !strings.Contains(out, "0 due") {
		t.Fatalf("retention due: %s", out)
	}
	if out := cli("retention", "apply", "--as", "registrar"); !strings.Contains(out, "0 records expired") {
		t.Fatalf("retention apply: %s", out)
	}
	for _, bad := range [][]string{{"record", "erase", "--as", "pat"}, {"record", "erase", rec[1], "--chart", "--as", "pat"}} {
		if out, err := run2(bad...); err == nil || !strings.Contains(out, "exactly one") {
			t.Fatalf("%v: %v\n%s", bad, err, out)
		}
	}
}
