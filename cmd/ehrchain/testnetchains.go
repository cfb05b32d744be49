package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/testnet"
)

// multiFlags are init's flags for a multi-chain testnet.
type multiFlags struct {
	chains                   string
	shards, perShard, supply int
	network                  string
}

func (mc *multiFlags) bind(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&mc.chains, "chains", "", "several chains: name:validators,... (ehr-a:3,ehr-b:3,supply:1); a chain named supply is the supply sidechain, the others are EHR shards")
	f.IntVar(&mc.shards, "shards", 0, "or: this many EHR shards, ehr-a, ehr-b, ...")
	f.IntVar(&mc.perShard, "shard-validators", 1, "with --shards: validators per shard")
	f.IntVar(&mc.supply, "supply-validators", 0, "with --shards: validators of a supply sidechain (0: none)")
	f.StringVar(&mc.network, "network", "ehrchain-testnet", "with --chains or --shards: the network name; chain NAME gets chain id NETWORK-NAME")
}

// specs are the chains asked for, or nil for a single-chain testnet.
func (mc *multiFlags) specs(cmd *cobra.Command) ([]testnet.ChainSpec, error) {
	switch {
	case mc.chains != "" && mc.shards != 0:
		return nil, fmt.Errorf("give --chains or --shards, not both")
	case mc.chains != "":
		return testnet.ParseChains(mc.chains)
	case mc.shards != 0:
		return testnet.ShardSpecs(mc.shards, mc.perShard, mc.supply)
	}
	for _, f := range []string{"shard-validators", "supply-validators", "network"} {
		if cmd.Flags().Changed(f) {
			return nil, fmt.Errorf("--%s needs --shards or --chains", f)
		}
	}
	return nil, nil
}

func initChains(o testnet.ChainOptions) error {
	l, n, err := testnet.InitChains(o)
	if err != nil {
		return err
	}
	fmt.Printf("network %s in %s: %d chains\n", l.Network, o.Dir, len(l.Chains))
	for _, c := range l.Chains {
		m, err := testnet.Load(filepath.Join(o.Dir, c.Dir))
		if err != nil {
			return err
		}
		fmt.Printf("  %-8s %-6s chain %-26s %d validator(s) in %s/%s\n", c.Name, c.Kind, c.ChainID, len(m.Nodes), o.Dir, c.Dir)
		for _, nd := range m.Nodes {
			fmt.Printf("    %-6s api http://%s  p2p %s  rpc %s\n", nd.Name, nd.API, nd.P2P, nd.RPC)
		}
	}
	fmt.Printf("light clients to relay (chain keeps client of chain):\n")
	for _, r := range n.Relayers {
		fmt.Printf("  %s follows %s (client %s)\n", r.On, r.Follows, r.Client)
	}
	fmt.Printf("network description: %s (give it to client commands as --network)\nstart it with: ehrchain testnet start --dir %s\n", testnet.NetworkPath(o.Dir), o.Dir)
	return nil
}

func chainFlag(c *cobra.Command, chains *[]string) {
	c.Flags().StringSliceVar(chains, "chain", nil, "on a multi-chain testnet: only these chains (repeatable; --node needs exactly one)")
}

// chainDir is the directory a start, stop or status works on: a multi-chain testnet's, or,
// when --node picks nodes of one --chain, that chain's own testnet directory.
func chainDir(dir string, chains []string, which []int) (string, error) {
	if !testnet.IsMultiChain(dir) {
		if len(chains) > 0 {
			return "", fmt.Errorf("--chain: %s is a single-chain testnet", dir)
		}
		return dir, nil
	}
	if len(which) == 0 {
		return dir, nil
	}
	if len(chains) != 1 {
		return "", fmt.Errorf("--node on a multi-chain testnet needs exactly one --chain (node indexes are per chain)")
	}
	l, err := testnet.LoadLayout(dir)
	if err != nil {
		return "", err
	}
	return l.ChainDir(dir, chains[0])
}

func startChains(cmd *cobra.Command, dir, bin string, chains []string, wait time.Duration) error {
	pids, err := testnet.StartChains(dir, bin, chains)
	for name, p := range pids {
		fmt.Printf("started chain %s: pids %v\n", name, p)
	}
	if err != nil {
		return err
	}
	if wait <= 0 {
		return nil
	}
	deadline := time.Now().Add(wait)
	for {
		cs, err := testnet.ChainsStatus(cmd.Context(), dir, chains)
		if err != nil {
			return err
		}
		ready := true
		for _, c := range cs {
			for _, s := range c.Nodes {
				if !s.Running || s.Height == 0 || s.Error != "" {
					ready = false
				}
			}
		}
		if ready {
			return printChainsStatus(cs)
		}
		if time.Now().After(deadline) {
			printChainsStatus(cs)
			return fmt.Errorf("not every node serves after %s; see the node logs in %s/CHAIN/nodeI/node.log", wait, dir)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func printChainsStatus(cs []testnet.ChainStatus) error {
	for _, c := range cs {
		fmt.Printf("%s (%s, chain %s)\n", c.Name, c.Kind, c.ChainID)
		for _, s := range c.Nodes {
			fmt.Print("  ")
			printStatus([]testnet.NodeStatus{s})
		}
		for _, r := range c.Relayers {
			proc := "relayer stopped"
			if r.Running {
				proc = fmt.Sprintf("relayer pid %d", r.PID)
			}
			switch {
			case r.Error != "":
				fmt.Printf("  client %-8s of %-8s %s; %s\n", r.Client, r.Follows, proc, r.Error)
			case r.Frozen:
				fmt.Printf("  client %-8s of %-8s %s; FROZEN at %s height %d\n", r.Client, r.Follows, proc, r.Follows, r.Latest)
			default:
				fmt.Printf("  client %-8s of %-8s %s; verified to %s height %d\n", r.Client, r.Follows, proc, r.Follows, r.Latest)
			}
		}
	}
	return nil
}

// startRelayers creates the light clients of the relayers of the started chains (on first
// start) and runs a relayer process for each whose two chains run.
func startRelayers(cmd *cobra.Command, dir, bin string, chains []string, pass []byte, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), max(wait, time.Minute))
	defer cancel()
	procs, err := testnet.StartRelayers(ctx, dir, bin, chains, pass, testnet.RelayEvery)
	for _, p := range procs {
		fmt.Printf("relayer of client %s on %s (follows %s): pid %d, log %s/relayers/%s/%s.log\n", p.Client, p.On, p.Follows, p.PID, dir, p.On, p.Client)
	}
	if err != nil {
		return fmt.Errorf("relayers: %w (the chains run; start again to retry, or --relayers=false)", err)
	}
	return nil
}
