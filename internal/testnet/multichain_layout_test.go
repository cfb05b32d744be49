package testnet

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/shard"
)

func TestParseChains(t *testing.T) {
	got, err := ParseChains("ehr-a:3, ehr-b:2,supply:1,ehr-c")
	if err != nil {
		t.Fatal(err)
	}
	want := []ChainSpec{{"ehr-a", 3}, {"ehr-b", 2}, {"supply", 1}, {"ehr-c", 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
	if got[2].Kind() != shard.Supply || got[0].Kind() != KindShard {
		t.Fatalf("kinds %s %s", got[2].Kind(), got[0].Kind())
	}
	for _, c := range []struct{ in, want string }{
		{"ehr-a:0", "want 1 to 8"},
		{"ehr-a:9", "want 1 to 8"},
		{"ehr-a:x", "want 1 to 8"},
		{"EHR-A:1", "chain name"},
		{"ehr a:1", "chain name"},
		{"ehr-a:1,ehr-a:2", "named twice"},
		{"supply:1", "no EHR shard"},
		{"", "no EHR shard"},
		{"ehr-a,supply,supply-2", "one supply sidechain"},
	} {
		if _, err := ParseChains(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseChains(%q): %v, want an error with %q", c.in, err, c.want)
		}
	}
	specs, err := ShardSpecs(2, 3, 1)
	if err != nil || !slices.Equal(specs, []ChainSpec{{"ehr-a", 3}, {"ehr-b", 3}, {"supply", 1}}) {
		t.Fatalf("ShardSpecs: %v %v", specs, err)
	}
	if _, err := ShardSpecs(0, 1, 0); err == nil {
		t.Fatal("zero shards accepted")
	}
}

// TestChainsLayout checks what a multi-chain init writes, without starting anything: a
// testnet per chain with its own chain id and genesis, ports that never overlap across
// chains, peers only within a chain, one registrar on every chain, a network description
// that loads and routes, and the light clients each shard keeps.
func TestChainsLayout(t *testing.T) {
	dir := t.TempDir()
	specs, _ := ParseChains("ehr-a:2,ehr-b:2,supply:1")
	l, n, err := InitChains(ChainOptions{Dir: dir, Network: "ehr-net", Chains: specs, Ports: ChainPorts(33000),
		Passphrase: passphrase, KDF: keys.TestKDF})
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	var regID string
	for _, c := range l.Chains {
		cdir := filepath.Join(dir, c.Dir)
		m, err := Load(cdir)
		if err != nil {
			t.Fatal(err)
		}
		if m.ChainID != "ehr-net-"+c.Name || c.ChainID != m.ChainID {
			t.Fatalf("chain %s: chain id %s / %s", c.Name, m.ChainID, c.ChainID)
		}
		for i, nd := range m.Nodes {
			home := m.HomeOf(cdir, i)
			for _, a := range []string{nd.API, nd.P2P, nd.RPC} {
				if prev, ok := addrs[a]; ok {
					t.Fatalf("address %s used by %s and %s/%s", a, prev, c.Name, nd.Name)
				}
				addrs[a] = c.Name + "/" + nd.Name
			}
			b, _ := os.ReadFile(node.Paths{Home: home}.Genesis())
			g, err := types.GenesisDocFromJSON(b)
			if err != nil || g.ChainID != c.ChainID {
				t.Fatalf("%s/%s genesis: %v, chain %s", c.Name, nd.Name, err, g.ChainID)
			}
			cfg, _ := node.LoadConfig(home)
			for _, o := range m.Nodes {
				if o.Name != nd.Name && !strings.Contains(cfg.Peers, o.NodeID) {
					t.Fatalf("%s/%s does not peer with %s", c.Name, nd.Name, o.Name)
				}
			}
			data, err := keys.Dir{Path: node.Paths{Home: home}.Keys()}.Load(Registrar)
			if err != nil {
				t.Fatal(err)
			}
			ks, err := keys.Decrypt(data, passphrase)
			if err != nil {
				t.Fatal(err)
			}
			if regID == "" {
				regID = ks.ID
			} else if ks.ID != regID {
				t.Fatalf("%s/%s has registrar %s, another chain %s", c.Name, nd.Name, ks.ID, regID)
			}
		}
		// A chain's peers are its own: no node id of another chain appears in its configs.
		for _, o := range l.Chains {
			if o.Name == c.Name {
				continue
			}
			om, _ := Load(filepath.Join(dir, o.Dir))
			for i := range m.Nodes {
				cfg, _ := node.LoadConfig(m.HomeOf(cdir, i))
				for _, ond := range om.Nodes {
					if strings.Contains(cfg.Peers, ond.NodeID) {
						t.Fatalf("%s peers with %s of chain %s", m.Nodes[i].Name, ond.Name, o.Name)
					}
				}
			}
		}
	}
	if len(addrs) != 15 {
		t.Fatalf("%d addresses, want 15", len(addrs))
	}
	loaded, err := shard.Load(NetworkPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded.ShardNames(), []string{"ehr-a", "ehr-b"}) || len(loaded.Sidechains) != 1 || loaded.Sidechains[0].Kind != shard.Supply {
		t.Fatalf("network description: %+v", loaded)
	}
	if len(loaded.Shards[0].API) != 2 || loaded.Shards[1].API[0] != "http://127.0.0.1:33100" || loaded.Sidechains[0].API[0] != "http://127.0.0.1:33200" {
		t.Fatalf("API URLs: %+v", loaded)
	}
	wantRel := []shard.Relayer{{On: "ehr-a", Client: "ehr-b", Follows: "ehr-b"}, {On: "ehr-a", Client: "supply", Follows: "supply"},
		{On: "ehr-b", Client: "ehr-a", Follows: "ehr-a"}, {On: "ehr-b", Client: "supply", Follows: "supply"}}
	if !slices.Equal(l.Relayers, wantRel) || !slices.Equal(n.Relayers, wantRel) || !slices.Equal(loaded.Relayers, wantRel) {
		t.Fatalf("relayers %v", l.Relayers)
	}
	// Each relayer has a keystore of its own beside its chain, under the testnet passphrase.
	ids := map[string]bool{}
	for _, r := range wantRel {
		data, err := keys.Dir{Path: filepath.Join(dir, "relayers", r.On, "keys")}.Load(RelayerKey(r.Client))
		if err != nil {
			t.Fatalf("relayer keystore of %s on %s: %v", r.Client, r.On, err)
		}
		ks, err := keys.Decrypt(data, passphrase)
		if err != nil {
			t.Fatalf("relayer keystore of %s on %s: %v", r.Client, r.On, err)
		}
		if ids[ks.ID] {
			t.Fatalf("relayer keystore of %s on %s shares id %s with another relayer", r.Client, r.On, ks.ID)
		}
		ids[ks.ID] = true
	}
	if again, err := LoadLayout(dir); err != nil || len(again.Chains) != 3 || !IsMultiChain(dir) {
		t.Fatalf("LoadLayout: %v", err)
	}
	if _, err := l.Pick([]string{"ehr-z"}); err == nil || !strings.Contains(err.Error(), "ehr-a, ehr-b, supply") {
		t.Fatalf("an unknown chain: %v", err)
	}
	// Neither kind of init lays out over the other, nor over itself.
	if _, _, err := InitChains(ChainOptions{Dir: dir, Chains: specs, Passphrase: passphrase, KDF: keys.TestKDF}); err == nil {
		t.Fatal("a multi-chain init overwrote a multi-chain testnet")
	}
	if _, err := Init(Options{Dir: dir, Validators: 1, Passphrase: passphrase, KDF: keys.TestKDF}); err == nil || !strings.Contains(err.Error(), "multi-chain") {
		t.Fatalf("a single-chain init over a multi-chain testnet: %v", err)
	}
	// Bad specs are refused before anything is written.
	for _, c := range []struct {
		name    string
		network string
		chains  []ChainSpec
	}{
		{"bad chain name", "n", []ChainSpec{{"EHR", 1}}},
		{"a name twice", "n", []ChainSpec{{"ehr-a", 1}, {"ehr-a", 1}}},
		{"no validators", "n", []ChainSpec{{"ehr-a", 0}}},
		{"too many validators", "n", []ChainSpec{{"ehr-a", MaxChainValidators + 1}}},
		{"only a sidechain", "n", []ChainSpec{{"supply", 1}}},
		{"network name with a space", "my net", []ChainSpec{{"ehr-a", 1}}},
	} {
		out := filepath.Join(t.TempDir(), "net")
		if _, _, err := InitChains(ChainOptions{Dir: out, Network: c.network, Chains: c.chains, Passphrase: passphrase, KDF: keys.TestKDF}); err == nil {
			t.Errorf("%s: laid out", c.name)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: refused, but %s was created", c.name, out)
		}
	}
	single := t.TempDir()
	if _, err := Init(Options{Dir: single, Validators: 1, Ports: BasePorts(33900), Passphrase: passphrase, KDF: keys.TestKDF}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := InitChains(ChainOptions{Dir: single, Chains: specs, Passphrase: passphrase, KDF: keys.TestKDF}); err == nil {
		t.Fatal("a multi-chain init overwrote a single-chain testnet")
	}
	if _, err := LoadLayout(single); err == nil || !strings.Contains(err.Error(), "not a multi-chain testnet") {
		t.Fatalf("LoadLayout of a single chain: %v", err)
	}
}
