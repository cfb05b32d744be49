package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/integrity"
	"github.com/ehrchain/ehrchain/internal/node"
)

func verifyCmd(g *globals) *cobra.Command {
	var noReplay, quiet bool
	c := &cobra.Command{
		Use:   "verify",
		Short: "Re-check a node's whole stored chain and state (stopped or running); report the first tampered height",
		Long: `Re-check everything a stopped node stored in --home, read-only, against what the
validators signed:

  - every block: its parts against the part-set hash, its hash, its link to the previous
    block, the data, last-commit and evidence hashes, and the commit signatures of the
    validator set at its height (both the next block's copy and the locally seen commit);
  - CometBFT's consensus state: validator sets, consensus parameters, transaction results;
  - a replay of every block through a fresh application, whose app hash and results must
    equal what each next header carries;
  - the application state: every height's state map and the event log recomputed from the
    raw leaves, and every map entry, event and index entry compared with the replay.

It prints "OK" or the first height where stored data disagrees, and exits non-zero then.

On a stopped node verify holds the home lock while it runs. On a running node it asks the
node (its operator endpoint, loopback and HOME/operator.token) to verify a consistent
snapshot of its stores while it keeps committing, and follows the result.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := integrity.Options{NoReplay: noReplay}
			if !quiet {
				o.Progress = func(h, head int64) {
					if h%1000 == 0 || h == head {
						fmt.Fprintf(os.Stderr, "verified height %d of %d\n", h, head)
					}
				}
			}
			if node.InUse(g.home) {
				return verifyOnline(cmd.Context(), g.home, noReplay, quiet)
			}
			rep, err := integrity.Verify(g.home, o)
			var f *integrity.Failure
			if errors.As(err, &f) {
				return reportVerify(rep, f)
			}
			if err != nil {
				return err
			}
			return reportVerify(rep, nil)
		},
	}
	c.Flags().BoolVar(&noReplay, "no-replay", false, "do not re-execute the blocks (faster; app hashes are then only cross-checked, and the derived indexes not at all)")
	c.Flags().BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	return c
}

// reportVerify prints what a verification found, offline or online; a failure is an
// error (exit 1).
func reportVerify(rep *integrity.Report, f *integrity.Failure) error {
	if f != nil {
		fmt.Printf("FAILED at height %d: %s: %s\n", f.Height, f.Part, f.Detail)
		if last := rep.Base + rep.Verified - 1; rep.Verified > 0 && last < f.Height {
			fmt.Printf("blocks %d to %d passed before it\n", rep.Base, last)
		}
		return errors.New("the stored chain or state does not match what the validators signed")
	}
	how := "replayed"
	if !rep.Replayed {
		how = "not replayed: app hashes checked against stored results only"
	}
	if len(rep.Pruned) > 0 {
		how = "not replayed: this node does not hold the chain from genesis"
	}
	fmt.Printf("OK: %d blocks (heights %d to %d, %s), %d events verified; app hash %X at height %d\n",
		rep.Verified, rep.Base, rep.Head, how, rep.Events, rep.AppHash, rep.AppHeight)
	for _, p := range rep.Pruned {
		fmt.Printf("not checked: %s\n", p)
	}
	if len(rep.Pruned) > 0 {
		fmt.Println("the whole chain can be re-checked only on a node that keeps every block (pruning off, not state-synced)")
	}
	return nil
}

// auditProofCmds are the offline-proof commands of `ehrchain audit`.
func auditProofCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{auditProveCmd(g), auditVerifyProofCmd()}
}

func auditProveCmd(g *globals) *cobra.Command {
	var out string
	var height int64
	c := &cobra.Command{
		Use:   "prove EVENT",
		Short: "Write a proof file that event EVENT (its log index) is on the ledger, checkable offline",
		Long: `Write a proof that audit event EVENT (its index in the event log) is on the ledger: the
event, its RFC 6962 inclusion path to the log root at a committed height H, the state map
root at H, the app hash, and the header of block H+1, which carries that app hash. Anyone
holding the hash of block H+1 from a source they trust can check the file with
'ehrchain audit verify-proof', without a node.

The proof is built from a stopped node's --home (it takes the home lock). The app hash of
the last height is only in the next block's header: an event of the very last block
becomes provable once the node has made one more block.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			index, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("EVENT must be an event number (its index in the log): %q", args[0])
			}
			if out == "" {
				return errors.New("--out FILE is required")
			}
			if g.nodeURL != "" {
				return errors.New("proofs are built from a stopped node's --home; the node API does not serve them yet")
			}
			p, err := integrity.Prove(g.home, index, integrity.ProveOptions{Height: height})
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, append(b, '\n'), 0o600); err != nil {
				return err
			}
			fmt.Printf("wrote %s: event %d in the log of %d events at height %d\n", out, p.Index, p.LogSize, p.Height)
			fmt.Printf("check it against the hash of block %d from a source you trust:\n  ehrchain audit verify-proof %s --trusted-hash %X\n", p.Height+1, out, p.BlockHash)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "proof file to write (required)")
	c.Flags().Int64Var(&height, "height", 0, "committed height to prove the event at (default: the latest whose app hash a stored header carries)")
	return c
}

func auditVerifyProofCmd() *cobra.Command {
	var trusted string
	var asJSON bool
	c := &cobra.Command{
		Use:   "verify-proof FILE",
		Short: "Check a proof file offline against a trusted block hash and print the event",
		Long: `Check a proof file written by 'ehrchain audit prove' against the hash of block H+1 that
you trust (from your own node's 'ehrchain status', another operator, a published
checkpoint): the header must hash to it, its app hash must be the hash of the proof's map
root, log root and log size, and the event must be at its index in that log. No node is
contacted. Prints the event and exits non-zero if anything does not match.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			hash, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(trusted), "0x"))
			if err != nil || len(hash) != 32 {
				return errors.New("--trusted-hash must be a block hash: 64 hex digits")
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var p integrity.Proof
			if err := json.Unmarshal(b, &p); err != nil {
				return fmt.Errorf("%s is not a proof file: %w", args[0], err)
			}
			ev, err := integrity.VerifyProof(&p, hash)
			if err != nil {
				return fmt.Errorf("proof rejected: %w", err)
			}
			if asJSON {
				return printJSON(ev)
			}
			fmt.Printf("OK: event %d is on chain %s: entry %d of the %d events committed by height %d, whose app hash the trusted block %d (%X) carries\n",
				ev.Index, p.ChainID, ev.Index, p.LogSize, p.Height, p.Height+1, hash)
			return printJSON(ev)
		},
	}
	c.Flags().StringVar(&trusted, "trusted-hash", "", "hash of block H+1 from a source you trust (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print only the event as JSON")
	c.MarkFlagRequired("trusted-hash")
	return c
}
