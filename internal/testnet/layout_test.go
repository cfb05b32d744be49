package testnet

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
)

// TestLayout checks what init and add-node write, without starting anything: one genesis
// byte for byte in every home, distinct addresses, every other node as peer and blob source,
// the registrar keystore in every home, and no overwriting an existing testnet.
func TestLayout(t *testing.T) {
	dir := t.TempDir()
	m, err := Init(Options{Dir: dir, Validators: 3, Ports: BasePorts(41000), Passphrase: passphrase, KDF: keys.TestKDF,
		Institutions: []string{"St Mary", "", "City Clinic"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{m.Nodes[0].Institution, m.Nodes[1].Institution, m.Nodes[2].Institution}; !slices.Equal(got, []string{"St Mary", "Hospital 2", "City Clinic"}) {
		t.Fatalf("institutions %v", got)
	}
	gen0, _ := os.ReadFile(node.Paths{Home: m.HomeOf(dir, 0)}.Genesis())
	addrs := map[string]bool{}
	for i, nd := range m.Nodes {
		home := m.HomeOf(dir, i)
		if g, _ := os.ReadFile(node.Paths{Home: home}.Genesis()); !bytes.Equal(g, gen0) {
			t.Fatalf("%s has another genesis", nd.Name)
		}
		for _, a := range []string{nd.API, nd.P2P, nd.RPC} {
			if addrs[a] {
				t.Fatalf("address %s used twice", a)
			}
			addrs[a] = true
		}
		c, err := node.LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		if c.API != nd.API || c.P2P != nd.P2P || c.RPC != nd.RPC || len(c.BlobSources) != 2 || strings.Count(c.Peers, "@") != 2 || strings.Contains(c.Peers, nd.NodeID) {
			t.Fatalf("%s config: %+v", nd.Name, c)
		}
		data, err := keys.Dir{Path: node.Paths{Home: home}.Keys()}.Load(Registrar)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := keys.Decrypt(data, passphrase); err != nil {
			t.Fatal(err)
		}
	}
	if g, err := types.GenesisDocFromJSON(gen0); err != nil || g.ConsensusParams.Block.MaxBytes != DefaultMaxBlockBytes || len(g.Validators) != 3 {
		t.Fatalf("genesis: %v (block cap and validators)", err)
	}
	if _, err := Init(Options{Dir: dir, Validators: 3, Passphrase: passphrase, KDF: keys.TestKDF}); err == nil {
		t.Fatal("init overwrote an existing testnet")
	}

	nd, err := AddNode(dir, "Hospital 4", BasePorts(41000))
	if err != nil {
		t.Fatal(err)
	}
	m, _ = Load(dir)
	if len(m.Nodes) != 4 || m.Nodes[3].Genesis {
		t.Fatalf("manifest after add-node: %+v", m.Nodes)
	}
	if g, _ := os.ReadFile(node.Paths{Home: m.HomeOf(dir, 3)}.Genesis()); !bytes.Equal(g, gen0) {
		t.Fatal("the joining node has another genesis")
	}
	for i := 0; i < 3; i++ {
		c, _ := node.LoadConfig(m.HomeOf(dir, i))
		if !slices.Contains(c.BlobPeerIDs, nd.NodeID) || !slices.Contains(c.BlobSources, "http://"+nd.API) {
			t.Fatalf("node%d does not know the joining node: %+v", i, c)
		}
	}
	if _, err := AddNode(dir, "", nil); err == nil {
		t.Fatal("a node without an institution was added")
	}
}
