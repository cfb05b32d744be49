package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/relay"
)

// interchainCmd creates and shows this chain's light clients of other chains.
func interchainCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "interchain", Short: "Light clients of other CometBFT chains (docs/SCALING.md)"}
	c.AddCommand(interchainCreateCmd(g), interchainShowCmd(g))
	return c
}

func interchainCreateCmd(g *globals) *cobra.Command {
	var id, from, as, expect string
	var height int64
	var period, drift time.Duration
	c := &cobra.Command{
		Use:   "create --client ID --from B_API --height H --trusting-period D --as REGISTRAR",
		Short: "Create light client ID of chain B, trusting B's block H as a node of B serves it (the registrar's subjective start)",
		Args:  cobra.NoArgs,
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, _ []string) error {
			if id == "" || from == "" {
				return fmt.Errorf("--client (the id here) and --from (chain B's API) are required")
			}
			if period <= 0 {
				return fmt.Errorf("--trusting-period is required: shorter than the time in which a retired validator key of B can no longer hurt (e.g. 336h)")
			}
			body, lb, err := relay.CreateBody(cmd.Context(), relay.Node{C: g.peer(from)}, id, height, period, drift)
			if err != nil {
				return err
			}
			hash := lb.Hash()
			if expect != "" {
				want, err := hex.DecodeString(strings.TrimSpace(expect))
				if err != nil || len(want) != 32 {
					return fmt.Errorf("--expect-hash must be 64 hex characters")
				}
				if !bytes.Equal(want, hash) {
					return fmt.Errorf("chain %s block %d from %s has hash %X, not the expected %X: nothing created", body.ChainID, lb.Height, from, hash, want)
				}
			}
			res, err := g.client().Send(cmd.Context(), who, body)
			if err != nil {
				return err
			}
			fmt.Printf("created light client %s of chain %s at height %d, trusting its block %X (committed at height %d)\n", id, body.ChainID, lb.Height, hash, res.Height)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&id, "client", "", "the new client's id (a-z, 0-9, '-', '.', '_')")
	f.StringVar(&from, "from", "", "API address of a node of chain B the registrar trusts for the starting block")
	f.Int64Var(&height, "height", 0, "chain B's block to start from (0: its newest)")
	f.DurationVar(&period, "trusting-period", 0, "how long a verified header's validators may vouch for the next (e.g. 336h)")
	f.DurationVar(&drift, "max-clock-drift", 0, "how far B's header times may run ahead of our block time (0: 10s)")
	f.StringVar(&expect, "expect-hash", "", "the starting block's hash as B's operators publish it; the client is created only if it matches")
	f.StringVar(&as, "as", "", "the registrar's keystore")
	return c
}

func interchainShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show light client ID and the latest header it verified", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := g.client().InterchainClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			c := r.Client
			fmt.Printf("client %s follows chain %s: latest verified height %d; trust %d/%d, trusting period %s, max clock drift %s; created at our height %d by %s\n",
				c.ID, c.ChainID, c.LatestHeight, c.TrustNumerator, c.TrustDenominator, c.TrustingPeriod, c.MaxClockDrift, c.CreatedAt, c.CreatedBy)
			if l := r.Latest; l != nil {
				fmt.Printf("header %d: time %s, block %X, app hash %X, verified at our height %d; trusted until %s\n",
					l.Height, l.Time.Format(time.RFC3339), l.HeaderHash, l.AppHash, l.VerifiedAt, l.Time.Add(c.TrustingPeriod).Format(time.RFC3339))
			}
			if c.Frozen {
				fmt.Printf("FROZEN at our height %d: two conflicting headers of height %d verified; it proves nothing\n", c.FrozenAt, c.FrozenHeight)
			}
			return nil
		},
	}
}
