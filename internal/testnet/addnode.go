package testnet

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
)

// AddNode lays out a new node for an institution joining the network: a home with the shared
// genesis, fresh keys, every existing node as peer and blob source. The existing nodes learn
// it as a blob peer and source (their config files; no restart needed). It is a full node
// until the registrar adds its validator key by transaction (`ehrchain validator add`).
func AddNode(dir, institution string, ports func(i int) (api, p2p, rpc int)) (*Node, error) {
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if institution == "" {
		return nil, fmt.Errorf("the joining node's institution is required")
	}
	i := len(m.Nodes)
	if ports == nil {
		ports = BasePorts(27000)
	}
	api, p2p, rpc := ports(i)
	nd := Node{Name: fmt.Sprintf("node%d", i), Home: fmt.Sprintf("node%d", i), Institution: institution,
		API: hostPort(api), P2P: hostPort(p2p), RPC: hostPort(rpc)}
	home := filepath.Join(dir, nd.Home)
	hk, err := node.PrepareHome(home)
	if err != nil {
		return nil, err
	}
	nd.NodeID, nd.Validator, nd.PubKey = hk.NodeID, hk.ValidatorKey.Address().String(), hk.ValidatorKey.Bytes()
	src := node.Paths{Home: m.HomeOf(dir, 0)}
	gen, err := os.ReadFile(src.Genesis())
	if err != nil {
		return nil, err
	}
	// The genesis must be byte-identical: its hash is part of the chain's identity.
	if err := os.WriteFile(node.Paths{Home: home}.Genesis(), gen, 0o600); err != nil {
		return nil, err
	}
	if enc, err := (keys.Dir{Path: src.Keys()}).Load(Registrar); err == nil {
		if err := (keys.Dir{Path: node.Paths{Home: home}.Keys()}).Save(Registrar, enc); err != nil {
			return nil, err
		}
	}
	first, err := node.LoadConfig(m.HomeOf(dir, 0))
	if err != nil {
		return nil, err
	}
	m.Nodes = append(m.Nodes, nd)
	if err := m.config(i, first.BlockMS, first.LogLevel).Save(node.Paths{Home: home}.Config()); err != nil {
		return nil, err
	}
	for j := 0; j < i; j++ {
		p := node.Paths{Home: m.HomeOf(dir, j)}
		c, err := node.LoadConfig(p.Home)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(c.BlobPeerIDs, nd.NodeID) {
			c.BlobPeerIDs = append(c.BlobPeerIDs, nd.NodeID)
		}
		if src := "http://" + nd.API; !slices.Contains(c.BlobSources, src) {
			c.BlobSources = append(c.BlobSources, src)
		}
		if err := c.Save(p.Config()); err != nil {
			return nil, err
		}
	}
	return &nd, m.save(dir)
}
