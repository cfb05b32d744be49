package testnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/shard"
)

// A multi-chain testnet is a directory of single-chain testnets, one subdirectory per chain
// (DIR/ehr-a/testnet.json, DIR/ehr-a/node0, ...), each with its own genesis, chain id,
// validators and ports, plus DIR/chains.json (this layout) and DIR/network.json (the network
// description clients route with). Every function of a single chain works on a
// subdirectory as it is.

// Layout describes a multi-chain testnet directory; it is DIR/chains.json.
type Layout struct {
	Network  string          `json:"network"`
	Chains   []LayoutChain   `json:"chains"`
	Relayers []shard.Relayer `json:"relayers"` // light clients to keep updated; see RelayersFor
}

// LayoutChain is one chain of the layout.
type LayoutChain struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"` // "shard" or a sidechain kind (shard.Supply)
	ChainID string `json:"chain_id"`
	Dir     string `json:"dir"` // relative to the testnet directory
}

// KindShard marks an EHR shard in a layout.
const KindShard = "shard"

// ChainSpec asks for one chain: a name and its number of validators. A chain named
// "supply" (or "supply-...") is the supply sidechain; every other chain is an EHR shard.
type ChainSpec struct {
	Name       string
	Validators int
}

// Kind is the spec's chain kind.
func (c ChainSpec) Kind() string {
	if c.Name == shard.Supply || strings.HasPrefix(c.Name, shard.Supply+"-") {
		return shard.Supply
	}
	return KindShard
}

// MaxChainValidators bounds the validators of one chain of a multi-chain testnet: each chain
// gets a block of 100 ports, ten per node, and two places stay free for `add-node`.
const MaxChainValidators = 8

// ParseChains reads the --chains flag: "ehr-a:3,ehr-b:3,supply:1" (name:validators; a
// missing count is one validator).
func ParseChains(s string) ([]ChainSpec, error) {
	var out []ChainSpec
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, count, found := strings.Cut(part, ":")
		c := ChainSpec{Name: name, Validators: 1}
		if found {
			n, err := strconv.Atoi(count)
			if err != nil || n < 1 || n > MaxChainValidators {
				return nil, fmt.Errorf("--chains %q: validators of %s: want 1 to %d, got %q", s, name, MaxChainValidators, count)
			}
			c.Validators = n
		}
		if !shard.ValidName(name) {
			return nil, fmt.Errorf("--chains %q: chain name %q: want 1 to 32 of a-z, 0-9 and -", s, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("--chains %q: chain %s is named twice", s, name)
		}
		seen[name] = true
		out = append(out, c)
	}
	shards, supply := 0, 0
	for _, c := range out {
		if c.Kind() == KindShard {
			shards++
		} else {
			supply++
		}
	}
	if shards == 0 {
		return nil, fmt.Errorf("--chains %q: no EHR shard (every chain but supply is one)", s)
	}
	if supply > 1 {
		return nil, fmt.Errorf("--chains %q: one supply sidechain at most", s)
	}
	return out, nil
}

// ShardSpecs is the --shards N --supply-validators V layout: shards ehr-a, ehr-b, ... of
// validators each and, when supply > 0, a supply sidechain of that many validators.
func ShardSpecs(n, validators, supply int) ([]ChainSpec, error) {
	if n < 1 || n > 26 {
		return nil, fmt.Errorf("--shards %d: want 1 to 26", n)
	}
	if validators < 1 || validators > MaxChainValidators || supply < 0 || supply > MaxChainValidators {
		return nil, fmt.Errorf("validators per chain: want 1 to %d", MaxChainValidators)
	}
	var out []ChainSpec
	for i := 0; i < n; i++ {
		out = append(out, ChainSpec{Name: "ehr-" + string(rune('a'+i)), Validators: validators})
	}
	if supply > 0 {
		out = append(out, ChainSpec{Name: shard.Supply, Validators: supply})
	}
	return out, nil
}

// ChainOptions configure InitChains; the node options apply to every chain.
type ChainOptions struct {
	Dir     string
	Network string // the network name; chain ids are NETWORK-NAME
	Chains  []ChainSpec
	// Ports gives node i of chain c its ports; ChainPorts(P) is the CLI's layout.
	Ports         func(c, i int) (api, p2p, rpc int)
	BlockMS       int
	MaxBlockBytes int64
	Passphrase    []byte
	KDF           keys.KDFParams
	LogLevel      string
	Params        app.Params
}

// ChainPorts lays node i of chain c out at P+100c+10i (API), +1 (p2p), +2 (RPC), so the
// chains never overlap.
func ChainPorts(p int) func(c, i int) (int, int, int) {
	return func(c, i int) (int, int, int) { return BasePorts(p + 100*c)(i) }
}

func layoutPath(dir string) string      { return filepath.Join(dir, "chains.json") }
func NetworkPath(dir string) string     { return filepath.Join(dir, "network.json") }
func (l *Layout) save(dir string) error { return writeJSON(layoutPath(dir), l) }

func writeJSON(path string, v any) error {
	b, _ := json.MarshalIndent(v, "", "  ")
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// IsMultiChain reports whether dir holds a multi-chain testnet.
func IsMultiChain(dir string) bool {
	_, err := os.Stat(layoutPath(dir))
	return err == nil
}

// refuseExisting keeps Init and InitChains from laying out over another testnet.
func refuseExisting(dir string) error {
	if _, err := os.Stat(manifestPath(dir)); err == nil {
		return fmt.Errorf("%s already holds a testnet; remove it or use another --out", dir)
	}
	if IsMultiChain(dir) {
		return fmt.Errorf("%s already holds a multi-chain testnet; remove it or use another --out", dir)
	}
	return nil
}

// LoadLayout reads DIR/chains.json.
func LoadLayout(dir string) (*Layout, error) {
	b, err := os.ReadFile(layoutPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a multi-chain testnet (no chains.json): run `ehrchain testnet init --chains ... --out %s` first", dir, dir)
	}
	if err != nil {
		return nil, err
	}
	var l Layout
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", layoutPath(dir), err)
	}
	return &l, nil
}

// ChainDir is chain name's testnet directory, or an error naming the chains there are.
func (l *Layout) ChainDir(dir, name string) (string, error) {
	var names []string
	for _, c := range l.Chains {
		if c.Name == name {
			return filepath.Join(dir, c.Dir), nil
		}
		names = append(names, c.Name)
	}
	return "", fmt.Errorf("no chain %q in %s: it has %s", name, dir, strings.Join(names, ", "))
}

// Pick returns the chains named (all when names is empty), in layout order.
func (l *Layout) Pick(names []string) ([]LayoutChain, error) {
	if len(names) == 0 {
		return l.Chains, nil
	}
	var out []LayoutChain
	for _, n := range names {
		found := false
		for _, c := range l.Chains {
			if c.Name == n {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			_, err := l.ChainDir("", n)
			return nil, err
		}
	}
	return out, nil
}

// RelayersFor is who follows whom: every shard keeps a light client of every other shard
// (so a provider registered on one is recognised on another) and of the supply sidechain
// (so a dispense can cite a supply event). A client is named for the chain it follows.
func RelayersFor(chains []LayoutChain) []shard.Relayer {
	var out []shard.Relayer
	for _, on := range chains {
		if on.Kind != KindShard {
			continue
		}
		for _, f := range chains {
			if f.Name != on.Name {
				out = append(out, shard.Relayer{On: on.Name, Client: f.Name, Follows: f.Name})
			}
		}
	}
	return out
}

// InitChains lays out a multi-chain testnet: one single-chain testnet per chain in
// DIR/NAME, all with the same registrar keystore (one passphrase unlocks it on every
// chain), and the layout and network description.
func InitChains(o ChainOptions) (*Layout, *shard.Network, error) {
	if len(o.Chains) == 0 {
		return nil, nil, errors.New("no chains to lay out")
	}
	if o.Network == "" {
		o.Network = "ehrchain-testnet"
	}
	if o.Ports == nil {
		o.Ports = ChainPorts(27000)
	}
	if len(o.Passphrase) == 0 {
		return nil, nil, errors.New("a passphrase for the registrar keystore is required")
	}
	if strings.TrimSpace(o.Network) != o.Network || strings.ContainsAny(o.Network, " \t\n/") {
		return nil, nil, fmt.Errorf("network name %q: chain ids are NETWORK-NAME, so no spaces or slashes", o.Network)
	}
	seen, shards := map[string]bool{}, 0
	for _, c := range o.Chains {
		switch {
		case !shard.ValidName(c.Name):
			return nil, nil, fmt.Errorf("chain name %q: want 1 to 32 of a-z, 0-9 and -", c.Name)
		case seen[c.Name]:
			return nil, nil, fmt.Errorf("chain %s is named twice", c.Name)
		case c.Validators < 1 || c.Validators > MaxChainValidators:
			return nil, nil, fmt.Errorf("chain %s: %d validators, want 1 to %d", c.Name, c.Validators, MaxChainValidators)
		}
		seen[c.Name] = true
		if c.Kind() == KindShard {
			shards++
		}
	}
	if shards == 0 {
		return nil, nil, errors.New("no EHR shard among the chains")
	}
	if err := refuseExisting(o.Dir); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, nil, err
	}
	reg, err := keys.NewKeystore(Registrar)
	if err != nil {
		return nil, nil, err
	}
	l := &Layout{Network: o.Network}
	n := &shard.Network{Name: o.Network}
	var shardHomes []string
	for c, spec := range o.Chains {
		lc := LayoutChain{Name: spec.Name, Kind: spec.Kind(), ChainID: o.Network + "-" + spec.Name, Dir: spec.Name}
		m, err := Init(Options{Dir: filepath.Join(o.Dir, lc.Dir), Validators: spec.Validators, ChainID: lc.ChainID,
			Ports:   func(i int) (int, int, int) { return o.Ports(c, i) },
			BlockMS: o.BlockMS, MaxBlockBytes: o.MaxBlockBytes, Passphrase: o.Passphrase, KDF: o.KDF,
			LogLevel: o.LogLevel, Params: o.Params, Registrar: reg})
		if err != nil {
			return nil, nil, fmt.Errorf("chain %s: %w", spec.Name, err)
		}
		ch := shard.Chain{Name: lc.Name, ChainID: lc.ChainID}
		for _, nd := range m.Nodes {
			ch.API = append(ch.API, "http://"+nd.API)
		}
		if lc.Kind == KindShard {
			n.Shards = append(n.Shards, ch)
			for i := range m.Nodes {
				shardHomes = append(shardHomes, m.HomeOf(filepath.Join(o.Dir, lc.Dir), i))
			}
		} else {
			n.Sidechains = append(n.Sidechains, shard.Sidechain{Chain: ch, Kind: lc.Kind})
		}
		l.Chains = append(l.Chains, lc)
	}
	l.Relayers = RelayersFor(l.Chains)
	n.Relayers = l.Relayers
	if err := initRelayerKeys(o.Dir, l.Relayers, o.Passphrase, o.KDF); err != nil {
		return nil, nil, err
	}
	if err := n.Save(NetworkPath(o.Dir)); err != nil {
		return nil, nil, err
	}
	for _, h := range shardHomes { // each shard's FHIR gateway routes by patient
		if err := n.Save(node.Paths{Home: h}.Network()); err != nil {
			return nil, nil, err
		}
	}
	return l, n, l.save(o.Dir)
}

// StartChains starts every node of the named chains (all when none) as Start does.
func StartChains(dir, binary string, names []string) (map[string][]int, error) {
	return startChains(dir, binary, names, false)
}

// StartChainsAttached is StartChains for tests (see StartAttached).
func StartChainsAttached(dir, binary string, names []string) (map[string][]int, error) {
	return startChains(dir, binary, names, true)
}

func startChains(dir, binary string, names []string, attached bool) (map[string][]int, error) {
	l, err := LoadLayout(dir)
	if err != nil {
		return nil, err
	}
	chains, err := l.Pick(names)
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for _, c := range chains {
		pids, err := start(filepath.Join(dir, c.Dir), binary, nil, attached)
		out[c.Name] = pids
		if err != nil {
			return out, fmt.Errorf("chain %s: %w", c.Name, err)
		}
	}
	return out, nil
}

// StopChains stops every node of the named chains (all when none) as Stop does, after the
// relayers with an end among them; it tries every chain and reports every failure.
func StopChains(dir string, names []string, kill bool, grace time.Duration) error {
	l, err := LoadLayout(dir)
	if err != nil {
		return err
	}
	chains, err := l.Pick(names)
	if err != nil {
		return err
	}
	var errs []error
	if err := StopRelayers(dir, names, grace); err != nil {
		errs = append(errs, err)
	}
	for _, c := range chains {
		if err := Stop(filepath.Join(dir, c.Dir), nil, kill, grace); err != nil {
			errs = append(errs, fmt.Errorf("chain %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ChainStatus is one chain of `testnet status` on a multi-chain testnet.
type ChainStatus struct {
	Name    string       `json:"name"`
	Kind    string       `json:"kind"`
	ChainID string       `json:"chain_id"`
	Nodes   []NodeStatus `json:"nodes"`
	// Relayers are the light clients this chain keeps, each with its relayer process.
	Relayers []RelayerStatus `json:"relayers,omitempty"`
}

// ChainsStatus is Status for each named chain (all when none).
func ChainsStatus(ctx context.Context, dir string, names []string) ([]ChainStatus, error) {
	l, err := LoadLayout(dir)
	if err != nil {
		return nil, err
	}
	chains, err := l.Pick(names)
	if err != nil {
		return nil, err
	}
	var out []ChainStatus
	for _, c := range chains {
		sts, err := Status(ctx, filepath.Join(dir, c.Dir))
		if err != nil {
			return out, fmt.Errorf("chain %s: %w", c.Name, err)
		}
		cs := ChainStatus{Name: c.Name, Kind: c.Kind, ChainID: c.ChainID, Nodes: sts}
		if len(sts) > 0 && sts[0].Running {
			cs.Relayers = relayersStatus(ctx, dir, l, c.Name, "http://"+sts[0].API)
		}
		out = append(out, cs)
	}
	return out, nil
}
