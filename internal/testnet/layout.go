package testnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
)

// Manifest describes a testnet directory; it is DIR/testnet.json.
type Manifest struct {
	ChainID string `json:"chain_id"`
	Nodes   []Node `json:"nodes"`
}

// Node is one node of the testnet.
type Node struct {
	Name        string `json:"name"`
	Home        string `json:"home"` // relative to the testnet directory
	Institution string `json:"institution"`
	API         string `json:"api"`
	P2P         string `json:"p2p"`
	RPC         string `json:"rpc"`
	NodeID      string `json:"node_id"`
	Validator   string `json:"validator"`     // consensus address
	PubKey      []byte `json:"validator_key"` // Ed25519 consensus key
	Genesis     bool   `json:"genesis"`       // a genesis validator (false: added later)
}

// Options configure Init.
type Options struct {
	Dir          string
	Validators   int
	ChainID      string
	Institutions []string // one per validator; "Hospital 1".. when missing
	// Ports gives node i's API, p2p and RPC ports. BasePorts(P) is the CLI's layout; tests
	// pass free ephemeral ports.
	Ports   func(i int) (api, p2p, rpc int)
	BlockMS int // pause after a commit; 0 keeps the node default
	// MaxBlockBytes caps a block (consensus parameter); 0 keeps DefaultMaxBlockBytes.
	MaxBlockBytes int64
	Passphrase    []byte
	KDF           keys.KDFParams
	LogLevel      string
	Params        app.Params // the chain's genesis rules (benchmarks enable the no-op)
	// Registrar is the registrar's keystore; nil makes a new one. A multi-chain testnet
	// gives every chain the same registrar.
	Registrar *keys.Keystore
}

// BasePorts lays node i out at P+10i (API), P+10i+1 (p2p) and P+10i+2 (RPC).
func BasePorts(p int) func(int) (int, int, int) {
	return func(i int) (int, int, int) { return p + 10*i, p + 10*i + 1, p + 10*i + 2 }
}

// DefaultMaxBlockBytes caps a testnet block at about 2,000 record writes. A single node
// takes 64 MiB blocks; with several validators a block must reach the others and be checked
// by each before the vote, and smaller blocks keep that pipeline moving (see BENCHMARKS.md).
const DefaultMaxBlockBytes = 8 << 20

// Registrar is the keystore name of the testnet's registrar in every node's keys directory.
const Registrar = "registrar"

func manifestPath(dir string) string { return filepath.Join(dir, "testnet.json") }

// Load reads DIR/testnet.json.
func Load(dir string) (*Manifest, error) {
	b, err := os.ReadFile(manifestPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a testnet directory (no testnet.json): run `ehrchain testnet init --out %s` first", dir, dir)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestPath(dir), err)
	}
	return &m, nil
}

func (m *Manifest) save(dir string) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(manifestPath(dir), append(b, '\n'), 0o644)
}

// HomeOf is node i's home directory, absolute: it is how the node's process is recognized.
func (m *Manifest) HomeOf(dir string, i int) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return filepath.Join(dir, m.Nodes[i].Home)
}

// Init creates the testnet directory: node homes, the shared genesis, configs, the registrar
// keystore (a copy in every home's keys directory) and testnet.json.
func Init(o Options) (*Manifest, error) {
	if o.Validators < 1 || o.Validators > 64 {
		return nil, fmt.Errorf("--validators %d: want 1 to 64", o.Validators)
	}
	if o.ChainID == "" {
		o.ChainID = "ehrchain-testnet"
	}
	if o.Ports == nil {
		o.Ports = BasePorts(27000)
	}
	if len(o.Passphrase) == 0 {
		return nil, errors.New("a passphrase for the registrar keystore is required")
	}
	if err := refuseExisting(o.Dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	ks := o.Registrar
	if ks == nil {
		var err error
		if ks, err = keys.NewKeystore(Registrar); err != nil {
			return nil, err
		}
	}
	enc, err := keys.Encrypt(ks, o.Passphrase, o.KDF)
	if err != nil {
		return nil, err
	}
	m := &Manifest{ChainID: o.ChainID}
	var vals []node.GenesisValidator
	for i := 0; i < o.Validators; i++ {
		inst := fmt.Sprintf("Hospital %d", i+1)
		if i < len(o.Institutions) && strings.TrimSpace(o.Institutions[i]) != "" {
			inst = strings.TrimSpace(o.Institutions[i])
		}
		api, p2p, rpc := o.Ports(i)
		nd := Node{Name: fmt.Sprintf("node%d", i), Home: fmt.Sprintf("node%d", i), Institution: inst,
			API: hostPort(api), P2P: hostPort(p2p), RPC: hostPort(rpc), Genesis: true}
		hk, err := node.PrepareHome(filepath.Join(o.Dir, nd.Home))
		if err != nil {
			return nil, err
		}
		nd.NodeID, nd.Validator, nd.PubKey = hk.NodeID, hk.ValidatorKey.Address().String(), hk.ValidatorKey.Bytes()
		vals = append(vals, node.GenesisValidator{Institution: inst, Name: nd.Name, PubKey: hk.ValidatorKey, Power: 10})
		m.Nodes = append(m.Nodes, nd)
	}
	gen, err := node.NewGenesis(o.ChainID, []node.GenesisRegistrar{{Name: Registrar, Keystore: ks}}, vals, o.Params)
	if err != nil {
		return nil, err
	}
	if o.MaxBlockBytes == 0 {
		o.MaxBlockBytes = DefaultMaxBlockBytes
	}
	gen.ConsensusParams.Block.MaxBytes = o.MaxBlockBytes
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, err
	}
	for i := range m.Nodes {
		home := m.HomeOf(o.Dir, i)
		if err := gen.SaveAs(node.Paths{Home: home}.Genesis()); err != nil {
			return nil, err
		}
		if err := (keys.Dir{Path: node.Paths{Home: home}.Keys()}).Save(Registrar, enc); err != nil {
			return nil, err
		}
		if err := m.config(i, o.BlockMS, o.LogLevel).Save(node.Paths{Home: home}.Config()); err != nil {
			return nil, err
		}
	}
	return m, m.save(o.Dir)
}

// config is node i's configuration: every other node is a persistent peer and a blob source.
func (m *Manifest) config(i, blockMS int, logLevel string) node.Config {
	nd := m.Nodes[i]
	c := node.DefaultConfig(m.ChainID)
	c.Moniker, c.API, c.P2P, c.RPC = nd.Name, nd.API, nd.P2P, nd.RPC
	c.SnapshotInterval = SnapshotInterval
	if blockMS > 0 {
		c.BlockMS = blockMS
	}
	if logLevel != "" {
		c.LogLevel = logLevel
	}
	var peers []string
	for j, o := range m.Nodes {
		if j == i {
			continue
		}
		peers = append(peers, o.NodeID+"@"+o.P2P)
		c.BlobSources = append(c.BlobSources, "http://"+o.API)
	}
	c.Peers = strings.Join(peers, ",")
	c.FullMesh = true // every node peers with every other
	return c
}

func hostPort(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
