package testnet

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/shard"
)

// shardBase is the fixed port base of the sharded-network test (its chains take
// shardBase and shardBase+100): `testnet init` lays chains out from a base port. It is
// below Linux's ephemeral range (32768-60999), so no port another test binds with :0 or
// dials out from can hold it.
const shardBase = 29400

// cli runs the ehrchain binary with the test passphrase and returns its output.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE="+string(passphrase))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// knows reports whether c's chain has identity id registered.
func knows(t *testing.T, ctx context.Context, c *client.Client, id string) bool {
	t.Helper()
	_, err := c.Identity(ctx, id, false)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == http.StatusNotFound {
		return false
	}
	if err != nil {
		t.Fatalf("identity %s on %s: %v", id, c.Base, err)
	}
	return true
}

// TestShardedNetwork is the story of two EHR shards laid out by `testnet init --chains`,
// run as real node processes: a provider registered on both registers patients through the
// router, each patient lands on their home shard only, records are written to and read
// from it, the other shard does not know the patient and refuses their records, the CLI
// with --network routes the same way and refuses a --node of the wrong shard, and when one
// shard stops the other keeps serving its own patients.
func TestShardedNetwork(t *testing.T) {
	dir, _ := initChains(t, "ehr-a:1,ehr-b:1", shardBase)
	if _, err := StartChainsAttached(dir, binary, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n, err := shard.Load(NetworkPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Shards) != 2 || n.Shards[0].API[0] != "http://127.0.0.1:29400" || n.Shards[1].API[0] != "http://127.0.0.1:29500" {
		t.Fatalf("network description %+v", n.Shards)
	}
	r := client.NewRouter(n)
	shardClient := map[string]*client.Client{}
	for _, s := range n.Shards {
		waitFor(t, 60*time.Second, s.Name+" to commit a block", func() bool {
			st, err := client.New(s.API[0]).Status(ctx)
			return err == nil && st.Height > 0
		})
		c, err := r.Chain(ctx, s.Name)
		if err != nil {
			t.Fatal(err)
		}
		shardClient[s.Name] = c
	}
	other := func(name string) string {
		if name == "ehr-a" {
			return "ehr-b"
		}
		return "ehr-a"
	}
	if out, err := cli(t, "testnet", "status", "--dir", dir); err != nil || !strings.Contains(out, "ehr-a (shard, chain story-ehr-a)") ||
		!strings.Contains(out, "ehr-b (shard, chain story-ehr-b)") || strings.Count(out, "height") != 2 {
		t.Fatalf("testnet status: %v\n%s", err, out)
	}

	// One registrar for the network; a provider who works on both shards is registered on each.
	data, err := keys.Dir{Path: node.Paths{Home: filepath.Join(dir, "ehr-a", "node0")}.Keys()}.Load(Registrar)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := keys.Decrypt(data, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	prov := mustKeystore(t)
	for name, c := range shardClient {
		if _, err := c.Send(ctx, reg, client.RegistrationFor(c.ChainID, prov, identity.Provider, "Dr", "St Mary", "MD-1")); err != nil {
			t.Fatalf("register the provider on %s: %v", name, err)
		}
	}

	// Two patients per shard, registered through the router by the provider.
	byShard := map[string][]*keys.Keystore{}
	for len(byShard["ehr-a"]) < 2 || len(byShard["ehr-b"]) < 2 {
		ks := mustKeystore(t)
		home, err := n.Home(ks.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(byShard[home.Name]) < 2 {
			byShard[home.Name] = append(byShard[home.Name], ks)
		}
	}
	records := map[string]string{} // patient id -> record id
	for name, ps := range byShard {
		for _, p := range ps {
			got, err := r.RegisterPatient(ctx, prov, p)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != name {
				t.Fatalf("patient %s registered on %s, home is %s", p.ID, got.Name, name)
			}
			m, err := r.PutRecord(ctx, prov, client.NewRecord{Patient: p.ID, Category: "general", ResourceType: "Binary",
				ContentType: "text/plain", Plaintext: []byte("note for " + p.ID)})
			if err != nil {
				t.Fatalf("write for %s: %v", p.ID, err)
			}
			records[p.ID] = m.RecordID
		}
	}

	for name, ps := range byShard {
		home, away := shardClient[name], shardClient[other(name)]
		for _, p := range ps {
			res, err := r.ReadRecord(ctx, p, p.ID, records[p.ID], "treatment")
			if err != nil || string(res.Plaintext) != "note for "+p.ID {
				t.Fatalf("read %s's record through the router: %v", p.ID, err)
			}
			if ms, err := home.ListRecords(ctx, p, p.ID, "treatment"); err != nil || len(ms) != 1 {
				t.Fatalf("%s lists %d records of its patient %s: %v", name, len(ms), p.ID, err)
			}
			page, err := r.AuditQuery(ctx, p, audit.Filter{Patient: p.ID})
			if err != nil || len(page.Events) == 0 {
				t.Fatalf("audit of %s through the router: %v", p.ID, err)
			}
			// The other shard does not know the patient, holds none of their records and
			// takes no write for them.
			if !knows(t, ctx, home, p.ID) || knows(t, ctx, away, p.ID) {
				t.Fatalf("patient %s (home %s) known at home: %v, on the other shard: %v", p.ID, name, knows(t, ctx, home, p.ID), knows(t, ctx, away, p.ID))
			}
			if _, err := away.ListRecords(ctx, p, p.ID, "treatment"); err == nil {
				t.Fatalf("the other shard answered a listing of %s's records", p.ID)
			}
			if _, err := away.PutRecord(ctx, prov, client.NewRecord{Patient: p.ID, Category: "general", ResourceType: "Binary",
				ContentType: "text/plain", Plaintext: []byte("misrouted")}); err == nil {
				t.Fatalf("the other shard took a record for %s", p.ID)
			}
			if err := r.CheckHome(ctx, away, p.ID); !errors.Is(err, client.ErrWrongShard) {
				t.Fatalf("CheckHome of the other shard for %s: %v", p.ID, err)
			}
			if err := r.CheckHome(ctx, home, p.ID); err != nil {
				t.Fatalf("CheckHome of the home shard for %s: %v", p.ID, err)
			}
		}
	}

	// A description whose chain ids are swapped is caught at the first call, not after a
	// write lands on the wrong chain; a dead first node is skipped.
	lying := *n
	lying.Shards = []shard.Chain{n.Shards[0], n.Shards[1]}
	lying.Shards[0].ChainID, lying.Shards[1].ChainID = n.Shards[1].ChainID, n.Shards[0].ChainID
	if _, err := client.NewRouter(&lying).Chain(ctx, "ehr-a"); err == nil || !strings.Contains(err.Error(), "serves chain story-ehr-a") {
		t.Fatalf("a router over swapped chain ids: %v", err)
	}
	deadFirst := *n
	deadFirst.Shards = []shard.Chain{n.Shards[0], n.Shards[1]}
	deadFirst.Shards[0].API = []string{"http://127.0.0.1:" + strconv.Itoa(nodetest.FreePort(t)), n.Shards[0].API[0]}
	if c, err := client.NewRouter(&deadFirst).Chain(ctx, "ehr-a"); err != nil || c.Base != n.Shards[0].API[0] {
		t.Fatalf("a router past a dead node: %v", err)
	}

	// The CLI: --network sends a patient's registration and records to the home shard, and
	// refuses a --node of another shard before anything is sent.
	h := t.TempDir()
	carol, dave := mustKeystore(t), mustKeystore(t)
	for name, ks := range map[string]*keys.Keystore{"dr": prov, "carol": carol, "dave": dave} {
		enc, err := keys.Encrypt(ks, passphrase, keys.TestKDF)
		if err != nil {
			t.Fatal(err)
		}
		if err := (keys.Dir{Path: filepath.Join(h, "keys")}).Save(name, enc); err != nil {
			t.Fatal(err)
		}
	}
	netFile := NetworkPath(dir)
	carolHome, _ := n.Home(carol.ID)
	if out, err := cli(t, "--home", h, "--network", netFile, "identity", "register", "--as", "dr", "--key", "carol", "--role", "patient"); err != nil {
		t.Fatalf("identity register --network: %v\n%s", err, out)
	}
	if !knows(t, ctx, shardClient[carolHome.Name], carol.ID) || knows(t, ctx, shardClient[other(carolHome.Name)], carol.ID) {
		t.Fatalf("carol (home %s) is not on her home shard only", carolHome.Name)
	}
	note := filepath.Join(h, "note.txt")
	os.WriteFile(note, []byte("seen today"), 0o600)
	if out, err := cli(t, "--home", h, "--network", netFile, "record", "put", note, "--as", "dr", "--patient", carol.ID, "--content-type", "text/plain"); err != nil {
		t.Fatalf("record put --network: %v\n%s", err, out)
	}
	if ms, err := shardClient[carolHome.Name].ListRecords(ctx, carol, carol.ID, "treatment"); err != nil || len(ms) != 1 {
		t.Fatalf("carol's home shard lists %d records: %v", len(ms), err)
	}
	daveHome, _ := n.Home(dave.ID)
	wrong, _ := n.Chain(other(daveHome.Name))
	out, err := cli(t, "--home", h, "--network", netFile, "--node", wrong.API[0], "identity", "register", "--as", "dr", "--key", "dave", "--role", "patient")
	if err == nil || !strings.Contains(out, "not the patient's home shard") || !strings.Contains(out, "lives on shard "+daveHome.Name) {
		t.Fatalf("registering dave (home %s) through %s: %v\n%s", daveHome.Name, wrong.Name, err, out)
	}
	for name, c := range shardClient {
		if knows(t, ctx, c, dave.ID) {
			t.Fatalf("the refused registration reached %s", name)
		}
	}
	if out, err := cli(t, "--home", h, "--network", netFile, "identity", "register", "--as", "registrar", "--key", "dr", "--role", "provider", "--org", "x", "--licence", "y"); err == nil || !strings.Contains(out, "has none") {
		t.Fatalf("a provider routed by --network: %v\n%s", err, out)
	}

	// One shard down: the other serves its own patients, reads and writes; the stopped
	// shard's patients are unavailable, never served elsewhere.
	if err := StopChains(dir, []string{"ehr-b"}, false, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, p := range byShard["ehr-a"] {
		if res, err := r.ReadRecord(ctx, p, p.ID, records[p.ID], "treatment"); err != nil || string(res.Plaintext) != "note for "+p.ID {
			t.Fatalf("read %s on ehr-a with ehr-b stopped: %v", p.ID, err)
		}
		if _, err := r.PutRecord(ctx, prov, client.NewRecord{Patient: p.ID, Category: "general", ResourceType: "Binary",
			ContentType: "text/plain", Plaintext: []byte("second note")}); err != nil {
			t.Fatalf("write for %s on ehr-a with ehr-b stopped: %v", p.ID, err)
		}
	}
	r.Forget("ehr-b")
	for _, p := range byShard["ehr-b"] {
		if _, err := r.ReadRecord(ctx, p, p.ID, records[p.ID], "treatment"); err == nil || !strings.Contains(err.Error(), "no node of chain ehr-b answers") {
			t.Fatalf("read of %s with their shard stopped: %v", p.ID, err)
		}
	}
	if sts, err := ChainsStatus(ctx, dir, nil); err != nil || !sts[0].Nodes[0].Running || sts[1].Nodes[0].Running {
		t.Fatalf("status with ehr-b stopped: %+v %v", sts, err)
	}
}

// initChains lays out `testnet init --chains chains` (network "story", 100 ms blocks) from
// port base in a temporary directory, and stops every chain and relayer it runs when the
// test ends, printing the tails of their logs if the test failed.
func initChains(t *testing.T, chains string, base int) (string, *Layout) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "net")
	if out, err := cli(t, "testnet", "init", "--chains", chains, "--network", "story", "--out", dir,
		"--base-port", strconv.Itoa(base), "--block-ms", "100"); err != nil {
		t.Fatalf("testnet init: %v\n%s", err, out)
	}
	l, err := LoadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := StopChains(dir, nil, true, 5*time.Second); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if !t.Failed() {
			return
		}
		for _, c := range l.Chains {
			b, _ := os.ReadFile(filepath.Join(dir, c.Dir, "node0", logFile))
			t.Logf("--- %s log (tail) ---\n%s", c.Name, tail(string(b), 3000))
		}
		for _, r := range l.Relayers {
			if b, err := os.ReadFile(relayerFile(dir, r, ".log")); err == nil {
				t.Logf("--- relayer of %s on %s (tail) ---\n%s", r.Client, r.On, tail(string(b), 1500))
			}
		}
	})
	return dir, l
}
