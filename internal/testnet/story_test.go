package testnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/shard"
)

// storyBase is the port base of the multi-chain story: its chains take 29000, 29100 and
// 29200 (and +1, +2), below Linux's ephemeral range (32768-60999), so no port another test
// binds with :0 or dials out from can hold them.
const storyBase = 29000

// TestMultiChainStory is "Beyond one chain" on real processes: three chains laid out by
// `testnet init --chains`, started with their four relayers. A provider of shard A is
// recognised on shard B once B's registrar admits A as a home of providers; a patient
// whose home is B is denied the provider's read until she grants it, and B audits both;
// on the supply chain a pack is commissioned, shipped, received and dispensed, and a
// pharmacist of shard A cites that dispense from her MedicationDispense record with a
// proof A verifies; and with shard B stopped, shard A serves its own patients.
func TestMultiChainStory(t *testing.T) {
	dir, l := initChains(t, "ehr-a:1,ehr-b:1,supply:1", storyBase)
	enableEPCIS(t, filepath.Join(dir, "supply", "node0"))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := StartChainsAttached(dir, binary, nil); err != nil {
		t.Fatal(err)
	}
	procs, err := StartRelayersAttached(ctx, dir, binary, nil, passphrase, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 4 {
		t.Fatalf("started relayers %+v, want 4 (each shard follows the other and the supply chain)", procs)
	}
	n, err := shard.Load(NetworkPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	r := client.NewRouter(n)
	chain := map[string]*client.Client{}
	api := map[string]string{}
	for _, name := range []string{"ehr-a", "ehr-b", "supply"} {
		c, ok := n.Chain(name)
		if !ok {
			t.Fatalf("no chain %s in the network description", name)
		}
		api[name] = c.API[0]
		chain[name] = client.New(c.API[0])
	}
	a, b, sup := chain["ehr-a"], chain["ehr-b"], chain["supply"]

	// The relayers keep every light client moving: each verifies past the block it was
	// created from, and `testnet status` shows each relayer's process and height.
	start := map[string]int64{}
	for _, rl := range l.Relayers {
		info, err := chain[rl.On].InterchainClient(ctx, rl.Client)
		if err != nil {
			t.Fatalf("client %s on %s after start: %v", rl.Client, rl.On, err)
		}
		start[rl.On+"/"+rl.Client] = info.Client.LatestHeight
	}
	for _, rl := range l.Relayers {
		waitFor(t, time.Minute, "the relayer of "+rl.Client+" on "+rl.On+" to relay a header", func() bool {
			info, err := chain[rl.On].InterchainClient(ctx, rl.Client)
			return err == nil && info.Client.LatestHeight > start[rl.On+"/"+rl.Client]
		})
	}
	out, err := cli(t, "testnet", "status", "--dir", dir)
	if err != nil || strings.Count(out, "relayer pid") != 4 || !strings.Contains(out, "client ehr-b    of ehr-b    relayer pid") {
		t.Fatalf("testnet status: %v\n%s", err, out)
	}
	// `testnet start` again finds the chains, the clients and the relayers running and
	// starts nothing.
	out, err = cli(t, "testnet", "start", "--dir", dir)
	if err != nil {
		t.Fatalf("testnet start again: %v\n%s", err, out)
	}
	for _, p := range procs {
		if want := fmt.Sprintf("relayer of client %s on %s (follows %s): pid %d", p.Client, p.On, p.Follows, p.PID); !strings.Contains(out, want) {
			t.Fatalf("testnet start again does not show %q:\n%s", want, out)
		}
	}

	// Keystores: the network's registrar, a physician and a pharmacist of shard A, the
	// supply chain's trading partners, and patients.
	reg := loadRegistrar(t, dir)
	h := t.TempDir()
	save := func(name string, ks *keys.Keystore) {
		t.Helper()
		enc, err := keys.Encrypt(ks, passphrase, keys.TestKDF)
		if err != nil {
			t.Fatal(err)
		}
		if err := (keys.Dir{Path: filepath.Join(h, "keys")}).Save(name, enc); err != nil {
			t.Fatal(err)
		}
	}
	save(Registrar, reg)
	run := func(node string, args ...string) string {
		t.Helper()
		out, err := cli(t, append([]string{"--home", h, "--node", node}, args...)...)
		if err != nil {
			t.Fatalf("ehrchain %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	// relayHeader relays header height of chain from to chain on's client of it, by hand, as
	// docs/OPERATIONS.md says to before citing a proof of from's state at height-1: the
	// background relayer may be below it or past it (then it is filled in).
	relayHeader := func(on, from string, height int64) {
		t.Helper()
		waitFor(t, time.Minute, fmt.Sprintf("%s to commit block %d", from, height), func() bool {
			st, err := chain[from].Status(ctx)
			return err == nil && st.Height > height
		})
		t.Logf("relay --height %d to %s: %s", height, on, strings.TrimSpace(run(api[on], "relay", "--from", api[from], "--client", from, "--as", Registrar, "--height", strconv.FormatInt(height, 10))))
		cs, err := chain[on].InterchainClientBelow(ctx, from, height+1)
		if err != nil || cs.Below == nil || cs.Below.Height != height {
			t.Fatalf("%s's client of %s after relaying header %d: %+v, %v", on, from, height, cs, err)
		}
	}

	chainID := func(c *client.Client) string {
		t.Helper()
		id, err := c.ChainIDOf(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	dr := mustKeystore(t)
	if _, err := a.Send(ctx, reg, client.RegistrationFor(chainID(a), dr, identity.Provider, "Dr Ames", "St Mary", "MD-1")); err != nil {
		t.Fatalf("register the physician on ehr-a: %v", err)
	}

	// Shard B recognises the physician from her entry proven on shard A (tx 104), once its
	// registrar admits A as a home of providers (tx 105).
	rec, err := a.ProviderProof(ctx, "ehr-a", dr.ID)
	if err != nil {
		t.Fatal(err)
	}
	relayHeader("ehr-b", "ehr-a", rec.Proof.Height+1)
	if _, err := b.Recognise(ctx, reg, rec); !refusedWith(err, interchain.CodeNotAdmitted) {
		t.Fatalf("a recognition before B admits A: %v", err)
	}
	if out := run(api["ehr-b"], "identity", "admit-home", "ehr-a", "--as", Registrar); !strings.Contains(out, "admitted as a home of providers: true") {
		t.Fatalf("admit-home: %s", out)
	}
	// Admitted, the recognition goes through the CLI, which takes a fresh proof from shard A
	// and relays the header after it itself.
	if out := run(api["ehr-b"], "identity", "recognise", dr.ID, "--as", Registrar, "--client", "ehr-a", "--home-node", api["ehr-a"]); !strings.Contains(out, "recognised "+dr.ID) {
		t.Fatalf("identity recognise: %s", out)
	}
	onB, err := b.Identity(ctx, dr.ID, false)
	if err != nil || onB.Identity.Role != identity.Provider || onB.Identity.Home == nil || onB.Identity.Home.ChainID != "story-ehr-a" {
		t.Fatalf("the physician on ehr-b: %+v, %v", onB, err)
	}

	// A patient whose home is shard B, as the directory function says.
	var pat *keys.Keystore
	for pat == nil {
		ks := mustKeystore(t)
		if home, err := n.Home(ks.ID); err == nil && home.Name == "ehr-b" {
			pat = ks
		}
	}
	// The physician, recognised on B, registers her there as a local provider would.
	if got, err := r.RegisterPatient(ctx, dr, pat); err != nil || got.Name != "ehr-b" {
		t.Fatalf("register the patient: %v, on %s", err, got.Name)
	}
	if knows(t, ctx, a, pat.ID) {
		t.Fatal("shard A knows a patient of shard B")
	}
	note, err := r.PutRecord(ctx, pat, client.NewRecord{Patient: pat.ID, Category: "general", ResourceType: "Binary",
		ContentType: "text/plain", Plaintext: []byte("penicillin allergy")})
	if err != nil {
		t.Fatalf("the patient's own note on ehr-b: %v", err)
	}

	// Before the grant the physician's read is denied, and B audits the denial.
	if res, err := r.ReadRecord(ctx, dr, pat.ID, note.RecordID, consent.Treatment); err == nil {
		t.Fatalf("the physician read the record before the grant: %q", res.Plaintext)
	}
	readsBy := func(outcome string) []*audit.Event {
		page, err := b.AuditQuery(ctx, pat, audit.Filter{Patient: pat.ID, Actor: dr.ID, Action: audit.RecordRead, Outcome: outcome})
		if err != nil {
			t.Fatalf("audit on ehr-b: %v", err)
		}
		return page.Events
	}
	waitFor(t, 30*time.Second, "ehr-b to audit the denied read", func() bool { return len(readsBy(audit.Denied)) == 1 })
	if ev := readsBy(audit.Denied)[0]; ev.Record != note.RecordID {
		t.Fatalf("the denied read audited as %+v", ev)
	}

	// The patient grants on B; the read succeeds and is audited there.
	if _, err := r.Grant(ctx, pat, consent.Grant{Grantee: dr.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}}); err != nil {
		t.Fatalf("grant on ehr-b: %v", err)
	}
	res, err := r.ReadRecord(ctx, dr, pat.ID, note.RecordID, consent.Treatment)
	if err != nil || string(res.Plaintext) != "penicillin allergy" {
		t.Fatalf("the physician's read after the grant: %v", err)
	}
	waitFor(t, 30*time.Second, "ehr-b to audit the allowed read", func() bool { return len(readsBy(audit.Success)) == 1 })
	if ev := readsBy(audit.Success)[0]; ev.Grant == "" {
		t.Fatalf("the allowed read does not name the grant: %+v", ev)
	}

	// The supply chain: Acme commissions a pack and ships it to the Corner Pharmacy, which
	// receives and dispenses it (EPCIS capture through the CLI).
	for _, k := range []struct{ name, role, org string }{{"acme", "manufacturer", "Acme Pharma"}, {"pharmacy", "dispenser", "Corner Pharmacy"}} {
		save(k.name, mustKeystore(t))
		run(api["supply"], "identity", "register", "--as", Registrar, "--key", k.name, "--role", k.role, "--org", k.org)
	}
	run(api["supply"], "epcis", "bind", "--partner", "acme", "--prefix", "4012345", "--gln", "4012345000009")
	run(api["supply"], "epcis", "bind", "--partner", "pharmacy", "--gln", "0712345000002")
	const pack = "urn:epc:id:sgtin:4012345.012345.1"
	run(api["supply"], "epcis", "capture", "--as", "acme", storyDoc(t, 0, `"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","epcList":["`+pack+`"]`))
	run(api["supply"], "epcis", "capture", "--as", "acme", storyDoc(t, 10,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","epcList":["`+pack+`"],"destinationList":[{"type":"owning_party","destination":"urn:epc:id:pgln:0712345.00000"}]`))
	run(api["supply"], "epcis", "capture", "--as", "pharmacy", storyDoc(t, 20, `"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","epcList":["`+pack+`"]`))
	out = run(api["supply"], "epcis", "capture", "--as", "pharmacy", storyDoc(t, 30, `"type":"ObjectEvent","action":"OBSERVE","bizStep":"dispensing","epcList":["`+pack+`"]`))
	hashID, _, _ := strings.Cut(strings.TrimSpace(out), " ")
	if !strings.HasPrefix(hashID, "ni:///sha-256;") {
		t.Fatalf("the dispensing capture printed %q", out)
	}

	// A pharmacist of shard A writes the MedicationDispense record for a patient of A and
	// cites the supply chain's dispense (tx 103), proven at the supply chain's height h and
	// checked by A against supply header h+1.
	lee := mustKeystore(t)
	save("lee", lee)
	if _, err := a.Send(ctx, reg, client.RegistrationFor(chainID(a), lee, identity.Provider, "Lee", "Corner Pharmacy", "RPH-1")); err != nil {
		t.Fatal(err)
	}
	var ada *keys.Keystore
	for ada == nil {
		ks := mustKeystore(t)
		if home, err := n.Home(ks.ID); err == nil && home.Name == "ehr-a" {
			ada = ks
		}
	}
	save("ada", ada)
	if got, err := r.RegisterPatient(ctx, lee, ada); err != nil || got.Name != "ehr-a" {
		t.Fatalf("register the pharmacy's patient: %v", err)
	}
	m := regexp.MustCompile(`wrote (r-[0-9a-f]+) version 1`).FindStringSubmatch(
		run(api["ehr-a"], "record", "dispense", "(01)04012345123456(21)1", "--as", "lee", "--patient", "ada", "--medication", "Amoxicillin 500 mg"))
	if m == nil {
		t.Fatal("record dispense printed no record id")
	}
	pharmacy, err := keys.Decrypt(mustLoad(t, filepath.Join(h, "keys"), "pharmacy"), passphrase)
	if err != nil {
		t.Fatal(err)
	}
	cite, err := sup.As(pharmacy).DispenseProof(ctx, m[1], "supply", pack, hashID)
	if err != nil {
		t.Fatal(err)
	}
	relayHeader("ehr-a", "supply", cite.Proof.Height+1)
	if _, err := a.CiteDispense(ctx, lee, cite); err != nil {
		t.Fatalf("cite the dispense on ehr-a: %v", err)
	}
	var cits crosstx.CitationsAnswer
	if err := json.Unmarshal([]byte(run(api["ehr-a"], "record", "citations", m[1], "--as", "ada")), &cits); err != nil {
		t.Fatal(err)
	}
	if len(cits.Citations) != 1 || cits.Citations[0].Citation == nil {
		t.Fatalf("record citations: %+v", cits)
	}
	if c := cits.Citations[0].Citation; c.HashID != hashID || c.ChainID != "story-supply" || c.Height != cite.Proof.Height || c.CitedBy != lee.ID {
		t.Fatalf("record citations: %+v", cits)
	}
	if _, err := a.CiteDispense(ctx, lee, cite); !refusedWith(err, interchain.CodeExists) {
		t.Fatalf("the same dispense cited twice: %v", err)
	}
	// Through the CLI, which takes a newer proof and relays the header it needs, the same
	// dispense is refused for what it is, not for an unverified height.
	out, err = cli(t, "--home", h, "--node", api["ehr-a"], "record", "cite", m[1], "--as", "lee", "--supply-node", api["supply"],
		"--supply-as", "pharmacy", "--epc", pack, "--event", hashID)
	if err == nil || !strings.Contains(out, "interchain/3") {
		t.Fatalf("record cite of a dispense already cited: %v\n%s", err, out)
	}

	// Shard B stops (its relayers with it); shard A serves its own patients, and keeps
	// following the supply chain.
	if err := StopChains(dir, []string{"ehr-b"}, false, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if res, err := r.ReadRecord(ctx, lee, ada.ID, m[1], consent.Treatment); err != nil || !strings.Contains(string(res.Plaintext), "Amoxicillin") {
		t.Fatalf("read on ehr-a with ehr-b stopped: %v", err)
	}
	if _, err := r.PutRecord(ctx, lee, client.NewRecord{Patient: ada.ID, Category: "general", ResourceType: "Binary",
		ContentType: "text/plain", Plaintext: []byte("counselled")}); err != nil {
		t.Fatalf("write on ehr-a with ehr-b stopped: %v", err)
	}
	r.Forget("ehr-b")
	if _, err := r.ReadRecord(ctx, pat, pat.ID, note.RecordID, consent.Treatment); err == nil {
		t.Fatal("a patient of the stopped shard was served")
	}
	sts, err := ChainsStatus(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range sts[0].Relayers { // ehr-a's clients: of ehr-b (its relayer stopped) and of supply (running)
		if rs.Running != (rs.Follows == "supply") {
			t.Fatalf("ehr-a's relayers with ehr-b stopped: %+v", sts[0].Relayers)
		}
	}
	before, _ := a.InterchainClient(ctx, "supply")
	waitFor(t, 30*time.Second, "ehr-a's client of the supply chain to move on", func() bool {
		now, err := a.InterchainClient(ctx, "supply")
		return err == nil && now.Client.LatestHeight > before.Client.LatestHeight
	})
}

func loadRegistrar(t *testing.T, dir string) *keys.Keystore {
	t.Helper()
	reg, err := keys.Decrypt(mustLoad(t, node.Paths{Home: filepath.Join(dir, "ehr-a", "node0")}.Keys(), Registrar), passphrase)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func mustLoad(t *testing.T, path, name string) []byte {
	t.Helper()
	data, err := keys.Dir{Path: path}.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// refusedWith: err is a node's refusal with interchain code c.
func refusedWith(err error, c uint32) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Codespace == string(interchain.Space) && ce.Code == c
}

// enableEPCIS points a supply node's epcis_schema at GS1's schema, so it takes captures.
func enableEPCIS(t *testing.T, home string) {
	t.Helper()
	schema, err := filepath.Abs("../../../shared/data/epcis-2.0/schema/EPCIS-JSON-Schema.json")
	if err != nil {
		t.Fatal(err)
	}
	path := node.Paths{Home: home}.Config()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["epcis_schema"] = schema
	raw, _ = json.Marshal(cfg)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// storyDoc writes an EPCIS 2.0 document of the given events (JSON members without the
// times) and returns its path.
func storyDoc(t *testing.T, first int, events ...string) string {
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
