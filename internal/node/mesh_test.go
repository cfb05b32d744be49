package node_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/testnet"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// In a full mesh the validators relay no transaction they got from a peer. What that must not
// break: a transaction submitted to one validator reaches the others, so that blocks they
// propose carry it. Patients register themselves on the first validator, one after another,
// until one registration is committed in a block another validator proposed (with gossip
// broken, only the first validator's own blocks could hold them).
func TestFullMeshGossipReachesOtherProposers(t *testing.T) {
	dir := t.TempDir()
	ports := func(int) (int, int, int) { return nodetest.FreePort(t), nodetest.FreePort(t), nodetest.FreePort(t) }
	m, err := testnet.Init(testnet.Options{Dir: dir, Validators: 4, ChainID: "mesh-test", Ports: ports, BlockMS: 50,
		Passphrase: pass, KDF: keys.TestKDF, LogLevel: "error", Params: app.Params{OpenRegistration: true}})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*node.Node
	for i := range m.Nodes {
		n, err := node.Start(m.HomeOf(dir, i), node.Overrides{NoRPC: true, LogLevel: "error"}, io.Discard)
		if err != nil {
			t.Fatalf("start validator %d: %v", i, err)
		}
		t.Cleanup(func() { n.Stop() })
		if !n.Config.FullMesh {
			t.Fatalf("validator %d: a testnet config must declare the full mesh", i)
		}
		nodes = append(nodes, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	first := strings.ToUpper(m.Nodes[0].Validator)
	for i := range 24 {
		ks, err := keys.NewKeystore("patient")
		if err != nil {
			t.Fatal(err)
		}
		signer, _ := tx.ParseSigner(ks.ID)
		body := client.RegistrationFor(m.ChainID, ks, identity.Patient, "", "", "")
		raw := tx.Sign(ks.Keys.Sign, signer, m.ChainID, 0, body).Encode()
		res, err := nodes[0].Broadcast(ctx, raw, true)
		if err != nil || res.Code != 0 {
			t.Fatalf("registration %d: %v %+v", i, err, res)
		}
		if p := nodes[0].ProposerForTest(res.Height); p != first {
			t.Logf("registration %d committed at height %d, proposed by %s", i, res.Height, p)
			return
		}
	}
	t.Fatalf("24 registrations submitted to %s were all committed in its own blocks: the other validators never had them", m.Nodes[0].Name)
}
