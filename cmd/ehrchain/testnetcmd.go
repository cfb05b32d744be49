package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/testnet"
)

func testnetCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "testnet",
		Short: "Run a network of validators on this machine (one process per node)",
		Long: `testnet lays out N node homes on loopback with distinct ports and one shared genesis
(a registrar and N validators, each run by an institution), and runs the nodes as separate
processes with logs in DIR/nodeI/node.log and pids in DIR/nodeI/node.pid. Each node can also
be run by hand: ehrchain start --home DIR/nodeI. The registrar keystore is in every home's
keys directory, so client commands work with --home DIR/nodeI.

With init --chains (or --shards) it lays out several chains, each such a testnet in
DIR/NAME, and DIR/network.json for client commands' --network; start, stop and status then
act on every chain or on --chain NAME.`,
	}
	c.AddCommand(testnetInitCmd(g), testnetStartCmd(g), testnetStopCmd(), testnetStatusCmd(), testnetAddNodeCmd())
	return c
}

func testnetInitCmd(g *globals) *cobra.Command {
	var o testnet.Options
	var base int
	var insts string
	var mc multiFlags
	c := &cobra.Command{
		Use:   "init",
		Short: "Create N validator homes, a shared genesis and persistent peers in --out",
		Long: `init lays out one chain of --validators nodes, or, with --chains or --shards, several
chains (EHR shards and a supply sidechain), each a testnet of its own in DIR/NAME, plus
DIR/network.json, the network description clients route patients with (--network).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Dir == "" {
				return fmt.Errorf("--out DIR is required")
			}
			specs, err := mc.specs(cmd)
			if err != nil {
				return err
			}
			if specs != nil && (cmd.Flags().Changed("validators") || cmd.Flags().Changed("chain-id") || insts != "") {
				return fmt.Errorf("--validators, --chain-id and --institutions lay out one chain: with --chains or --shards give the validators per chain (ehr-a:3) and --network")
			}
			pass, err := g.passphrase("the testnet registrar keystore", true)
			if err != nil {
				return err
			}
			if specs != nil {
				return initChains(testnet.ChainOptions{Dir: o.Dir, Network: mc.network, Chains: specs, Ports: testnet.ChainPorts(base),
					BlockMS: o.BlockMS, MaxBlockBytes: o.MaxBlockBytes, Passphrase: pass, KDF: keys.DefaultKDF, LogLevel: o.LogLevel})
			}
			o.Passphrase, o.KDF, o.Ports = pass, keys.DefaultKDF, testnet.BasePorts(base)
			if insts != "" {
				o.Institutions = strings.Split(insts, ",")
			}
			m, err := testnet.Init(o)
			if err != nil {
				return err
			}
			fmt.Printf("testnet %s in %s: %d validators\n", m.ChainID, o.Dir, len(m.Nodes))
			for _, n := range m.Nodes {
				fmt.Printf("  %-6s %-20s api http://%s  p2p %s  rpc %s  validator %s\n", n.Name, n.Institution, n.API, n.P2P, n.RPC, n.Validator)
			}
			fmt.Printf("start it with: ehrchain testnet start --dir %s\n", o.Dir)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Dir, "out", "", "directory to create")
	f.IntVar(&o.Validators, "validators", 4, "number of validators")
	f.IntVar(&base, "base-port", 27000, "node i listens on base+10i (API), base+10i+1 (p2p), base+10i+2 (RPC)")
	f.StringVar(&o.ChainID, "chain-id", "ehrchain-testnet", "chain id")
	f.StringVar(&insts, "institutions", "", "comma-separated institution of each validator (default Hospital 1, Hospital 2, ...)")
	f.IntVar(&o.BlockMS, "block-ms", 0, "pause after each commit, in ms (default the node's 200)")
	f.StringVar(&o.LogLevel, "log-level", "", "nodes' log level (default info)")
	f.Int64Var(&o.MaxBlockBytes, "max-block-bytes", testnet.DefaultMaxBlockBytes, "largest block, in bytes (a record write is about 4 KiB)")
	mc.bind(c)
	return c
}

func testnetStartCmd(g *globals) *cobra.Command {
	var dir string
	var which []int
	var chains []string
	var wait time.Duration
	var relayers bool
	c := &cobra.Command{
		Use:   "start",
		Short: "Start the testnet's nodes (or --node I) as background processes; on several chains, their relayers too",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			if dir, err = chainDir(dir, chains, which); err != nil {
				return err
			}
			if testnet.IsMultiChain(dir) {
				var pass []byte
				if relayers {
					if pass, err = g.passphrase("the testnet keystores (registrar and relayers)", false); err != nil {
						return err
					}
				}
				if err := startChains(cmd, dir, bin, chains, wait); err != nil {
					return err
				}
				if !relayers {
					return nil
				}
				return startRelayers(cmd, dir, bin, chains, pass, wait)
			}
			if cmd.Flags().Changed("relayers") {
				return fmt.Errorf("--relayers: %s is a single-chain testnet", dir)
			}
			pids, err := testnet.Start(dir, bin, which)
			if err != nil {
				return err
			}
			fmt.Printf("started %d node(s), pids %v; logs in %s/nodeI/node.log\n", len(pids), pids, dir)
			if wait <= 0 {
				return nil
			}
			deadline := time.Now().Add(wait)
			for {
				sts, err := testnet.Status(cmd.Context(), dir)
				if err != nil {
					return err
				}
				ready := true
				for i, s := range sts {
					if (len(which) == 0 || slices.Contains(which, i)) && (!s.Running || s.Height == 0 || s.Error != "") {
						ready = false
					}
				}
				if ready {
					return printStatus(sts)
				}
				if time.Now().After(deadline) {
					printStatus(sts)
					return fmt.Errorf("not every node serves after %s; see the node logs", wait)
				}
				time.Sleep(300 * time.Millisecond)
			}
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "testnet directory")
	c.Flags().IntSliceVar(&which, "node", nil, "start only these nodes (index; repeatable)")
	c.Flags().DurationVar(&wait, "wait", 30*time.Second, "wait until every started node serves (0: do not wait)")
	c.Flags().BoolVar(&relayers, "relayers", true, "on several chains: create the light clients of chains.json's relayers (first start) and run a relayer process for each")
	chainFlag(c, &chains)
	c.MarkFlagRequired("dir")
	return c
}

func testnetStopCmd() *cobra.Command {
	var dir string
	var which []int
	var chains []string
	var kill bool
	c := &cobra.Command{
		Use:   "stop",
		Short: "Stop the testnet's nodes (or --node I), and the relayers of the chains stopped; --kill sends SIGKILL to simulate a crash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := chainDir(dir, chains, which)
			if err != nil {
				return err
			}
			if testnet.IsMultiChain(dir) {
				err = testnet.StopChains(dir, chains, kill, 20*time.Second)
			} else {
				err = testnet.Stop(dir, which, kill, 20*time.Second)
			}
			if err != nil {
				return err
			}
			fmt.Println("stopped")
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "testnet directory")
	c.Flags().IntSliceVar(&which, "node", nil, "stop only these nodes (index; repeatable)")
	c.Flags().BoolVar(&kill, "kill", false, "SIGKILL instead of a clean stop")
	chainFlag(c, &chains)
	c.MarkFlagRequired("dir")
	return c
}

func testnetStatusCmd() *cobra.Command {
	var dir string
	var chains []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "Each node's process, height, app hash and voting power; on several chains, each relayer's process and light client height",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := chainDir(dir, chains, nil)
			if err != nil {
				return err
			}
			if testnet.IsMultiChain(dir) {
				cs, err := testnet.ChainsStatus(cmd.Context(), dir, chains)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cs)
				}
				return printChainsStatus(cs)
			}
			sts, err := testnet.Status(cmd.Context(), dir)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(sts)
			}
			return printStatus(sts)
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "testnet directory")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	chainFlag(c, &chains)
	c.MarkFlagRequired("dir")
	return c
}

func printStatus(sts []testnet.NodeStatus) error {
	for _, s := range sts {
		switch {
		case !s.Running:
			fmt.Printf("%-6s %-20s stopped\n", s.Name, s.Institution)
		case s.Error != "":
			fmt.Printf("%-6s %-20s pid %-7d not answering: %s\n", s.Name, s.Institution, s.PID, s.Error)
		default:
			sync := ""
			if s.CatchingUp {
				sync = " catching up"
			}
			fmt.Printf("%-6s %-20s pid %-7d height %-7d app hash %.16s… power %d%s\n", s.Name, s.Institution, s.PID, s.Height, s.AppHash, s.Power, sync)
		}
	}
	return nil
}

func testnetAddNodeCmd() *cobra.Command {
	var dir, inst string
	var base int
	var stateSync bool
	c := &cobra.Command{
		Use:   "add-node",
		Short: "Lay out a node for a joining institution (a full node until `validator add`)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if testnet.IsMultiChain(dir) {
				return fmt.Errorf("%s holds several chains: add a node to one with --dir %s/NAME and --base-port BASE+100c (chain c of its layout)", dir, dir)
			}
			n, err := testnet.AddNode(dir, inst, testnet.BasePorts(base))
			if err != nil {
				return err
			}
			if stateSync {
				ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
				defer cancel()
				i, _ := strconv.Atoi(strings.TrimPrefix(n.Name, "node"))
				ss, err := testnet.EnableStateSync(ctx, dir, i)
				if err != nil {
					return err
				}
				fmt.Printf("%s will state-sync: trusting block %d (%s), checked against %s\n", n.Name, ss.TrustHeight, ss.TrustHash, strings.Join(ss.RPCServers, ", "))
			}
			fmt.Printf("%s for %s in %s/%s: api http://%s, p2p %s\nstart it:   ehrchain testnet start --dir %s --node %s\nadmit it:   ehrchain --home %s/node0 validator add --pubkey %s --institution %q\n",
				n.Name, inst, dir, n.Home, n.API, n.P2P, dir, strings.TrimPrefix(n.Name, "node"), dir, base64.StdEncoding.EncodeToString(n.PubKey), inst)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "testnet directory")
	c.Flags().StringVar(&inst, "institution", "", "institution that runs the new node")
	c.Flags().IntVar(&base, "base-port", 27000, "the --base-port the testnet was created with")
	c.Flags().BoolVar(&stateSync, "state-sync", false, "bring the node up from a snapshot of a running node instead of replaying every block")
	c.MarkFlagRequired("dir")
	c.MarkFlagRequired("institution")
	return c
}
