package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/trials/timeproof"
	"github.com/ehrchain/ehrchain/internal/trials/trialpage"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// reportOutputs are the files `trial report` and `trial verify-report` write.
type reportOutputs struct{ html, fhir, json string }

func (o *reportOutputs) flags(c *cobra.Command, withJSON bool) {
	c.Flags().StringVar(&o.html, "html", "", "write the report as a self-contained HTML page with its timeline")
	c.Flags().StringVar(&o.fhir, "fhir", "", "write the report as a FHIR R4 Bundle (ResearchStudy and a Composition of the findings)")
	if withJSON {
		c.Flags().StringVar(&o.json, "json", "", "write the API's answer with every proof, for 'trial verify-report'")
	}
}

// write writes the verified report in the forms asked for; trustedBlock is the hash of
// block Height+1 its block time was proven against (nil: not proven).
func (o *reportOutputs) write(rep *wire.TrialReport, trusted, trustedBlock []byte) error {
	if o.json != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.json, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if o.html != "" {
		var page bytes.Buffer
		p := trialpage.HTMLPage{Report: rep.Report, AppHash: fmt.Sprintf("%X", trusted), Values: len(rep.Values)}
		if trustedBlock != nil {
			p.BlockHash = fmt.Sprintf("%X", trustedBlock)
		}
		if err := trialpage.WriteHTMLPage(&page, p); err != nil {
			return err
		}
		if err := os.WriteFile(o.html, page.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if o.fhir != "" {
		b, err := trials.FHIRBundle(rep.Report)
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.fhir, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// printReport prints a verified report's findings, one a line.
func printReport(w io.Writer, rep *wire.TrialReport, trusted []byte) {
	r := rep.Report
	fmt.Fprintf(w, "trial %s  %q  at height %d, block time %s: %d violations\n", r.Trial, r.Title, r.Height, r.BlockTime.UTC().Format(time.RFC3339), r.Violations)
	for _, f := range r.Findings {
		kind := ""
		if f.Kind != "" {
			kind = " " + f.Kind
		}
		fmt.Fprintf(w, "  %-9s %s%s: %s\n", strings.ToUpper(f.Status), f.Rule, kind, f.Detail)
	}
	for _, c := range r.Forms {
		fmt.Fprintf(w, "  consent form %d: %d enrolled under it, %d re-consents\n", c.Form, c.Enrolled, c.Reconsents)
	}
	fmt.Fprintf(w, "verified: %d state values at height %d against app hash %X, findings recomputed\n", len(rep.Values), rep.Height, trusted)
}

// verifyTime checks a report's block time against the trusted hash of block Height+1 and
// returns the app hash that block carries, which the report's proofs are then checked with.
func verifyTime(rep *wire.TrialReport, trustedBlock []byte) ([]byte, error) {
	_, appHash, err := timeproof.NextBlock(rep.TimeProof)
	if err != nil {
		return nil, err
	}
	if err := timeproof.Verify(rep.TimeProof, trustedBlock, rep.Height, appHash, rep.BlockTime); err != nil {
		return nil, err
	}
	return appHash, nil
}

// printTime says what the block-time proof proved.
func printTime(w io.Writer, rep *wire.TrialReport, trustedBlock []byte, claimed bool) {
	src := "trusted"
	if claimed {
		src = "the node's; compare it with a source you trust"
	}
	fmt.Fprintf(w, "block time proven: block %d was made at %s (headers of blocks %d and %d; block %d hash %X, %s)\n",
		rep.Height, rep.BlockTime.UTC().Format(time.RFC3339Nano), rep.Height, rep.Height+1, rep.Height+1, trustedBlock, src)
}

func hexFlag(name, v string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(v), "0x"))
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("--%s must be 64 hex digits", name)
	}
	return b, nil
}

func trialReportCmd(g *globals) *cobra.Command {
	var appHash, blockHash string
	var proveTime bool
	var out reportOutputs
	c := &cobra.Command{
		Use:   "report [ID]",
		Short: "A trial's transparency report, its proofs verified against the app hash; without ID the regulator's view across all trials",
		Long: "With ID: every finding (registration before enrolment, outcome switches, reported outcomes against the\n" +
			"pre-specified ones, results deadline, consent versions, withdrawals) with its evidence. Every state value\n" +
			"the findings rest on is verified offline against --app-hash (from a block header you trust), or else the\n" +
			"node's committed app hash at the answer's height, and the findings recomputed from the proven values.\n" +
			"--json keeps the answer with its proofs for 'trial verify-report'. Without ID: one line per trial with its\n" +
			"violations by rule (each trial's own report proves them). No keystore is needed: the report names no participant.",
		Args: cobra.MaximumNArgs(1),
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		defer cancel()
		cl := g.client()
		w := cmd.OutOrStdout()
		if len(args) == 0 {
			return printTrialsReport(ctx, cl, w)
		}
		if proveTime || blockHash != "" {
			rep, err := cl.TrialReportProvenTime(ctx, args[0])
			if err != nil {
				return err
			}
			claimed := blockHash == ""
			var trustedBlock []byte
			if claimed {
				if trustedBlock, _, err = timeproof.NextBlock(rep.TimeProof); err != nil {
					return err
				}
			} else if trustedBlock, err = hexFlag("trusted-block-hash", blockHash); err != nil {
				return err
			}
			trusted, err := verifyTime(rep, trustedBlock)
			if err != nil {
				return fmt.Errorf("the block time of trial %s's report is not proven: %w", args[0], err)
			}
			if err := rep.Verify(trusted); err != nil {
				return fmt.Errorf("the report of trial %s does not verify against app hash %X: %w", args[0], trusted, err)
			}
			if err := out.write(rep, trusted, trustedBlock); err != nil {
				return err
			}
			printReport(w, rep, trusted)
			printTime(w, rep, trustedBlock, claimed)
			return nil
		}
		var rep *wire.TrialReport
		trusted, err := trustedAppHash(ctx, cl, appHash, func() (int64, error) {
			var err error
			rep, err = cl.TrialReport(ctx, args[0])
			if err != nil {
				return 0, err
			}
			return rep.Height, nil
		})
		if err != nil {
			return err
		}
		if err := rep.Verify(trusted); err != nil {
			return fmt.Errorf("the report of trial %s does not verify against app hash %X: %w", args[0], trusted, err)
		}
		if err := out.write(rep, trusted, nil); err != nil {
			return err
		}
		printReport(w, rep, trusted)
		return nil
	}
	c.Flags().StringVar(&appHash, "app-hash", "", "the app hash to verify against (hex); default: the node's at the answer's height")
	c.Flags().BoolVar(&proveTime, "prove-time", false, "ask for the block headers that prove the report's block time (the node waits for the next block)")
	c.Flags().StringVar(&blockHash, "trusted-block-hash", "", "with --prove-time: the hash of block H+1 (H the report's height) from a source you trust; default: the node's")
	out.flags(c, true)
	return c
}

// printTrialsReport prints the regulator's view: one line per trial with its violations by
// rule.
func printTrialsReport(ctx context.Context, cl *client.Client, w io.Writer) error {
	all, err := cl.TrialsReport(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d trials at height %d, block time %s\n", len(all.Trials), all.Height, all.BlockTime.UTC().Format(time.RFC3339))
	for _, t := range all.Trials {
		fmt.Fprintf(w, "%s  %q  enrolled=%d violations=%d overdue=%v late=%v outcome_switches=%d discrepancies=%d deadline_moved=%d unmatched_datasets=%d\n",
			t.ID, t.Title, t.Enrolled, t.Violations, t.Overdue, t.Late, t.OutcomeSwitches, t.Discrepancies, t.DeadlineMoved, t.UnmatchedData)
	}
	return nil
}

func trialVerifyReportCmd() *cobra.Command {
	var appHash, blockHash string
	var out reportOutputs
	c := &cobra.Command{
		Use:   "verify-report FILE --app-hash H | --trusted-block-hash B",
		Short: "Check a saved transparency report (trial report --json) offline against an app hash you trust",
		Long: "No node is contacted. Every proof in FILE must verify against --app-hash (the app hash of the report's\n" +
			"height, from a block header you trust) and every finding must be what the proven values give; prints\n" +
			"the findings and exits non-zero otherwise. With --trusted-block-hash (the hash of block H+1, for a report\n" +
			"saved with --prove-time) the block time is proven too and the app hash is the one that block carries.\n" +
			"--html and --fhir write the verified report.",
		Args: cobra.ExactArgs(1),
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if (appHash == "") == (blockHash == "") {
			return errors.New("give --app-hash or --trusted-block-hash (one of them)")
		}
		b, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		var rep wire.TrialReport
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("%s is not a trial report: %w", args[0], err)
		}
		var trusted, trustedBlock []byte
		if blockHash != "" {
			if trustedBlock, err = hexFlag("trusted-block-hash", blockHash); err != nil {
				return err
			}
			if trusted, err = verifyTime(&rep, trustedBlock); err != nil {
				return fmt.Errorf("report rejected: %w", err)
			}
		} else if trusted, err = hexFlag("app-hash", appHash); err != nil {
			return err
		}
		if err := rep.Verify(trusted); err != nil {
			return fmt.Errorf("report rejected: %w", err)
		}
		if err := out.write(&rep, trusted, trustedBlock); err != nil {
			return err
		}
		printReport(cmd.OutOrStdout(), &rep, trusted)
		if trustedBlock != nil {
			printTime(cmd.OutOrStdout(), &rep, trustedBlock, false)
		}
		return nil
	}
	c.Flags().StringVar(&appHash, "app-hash", "", "the app hash of the report's height, from a source you trust")
	c.Flags().StringVar(&blockHash, "trusted-block-hash", "", "the hash of block H+1 from a source you trust (a report saved with --prove-time): proves the block time too")
	out.flags(c, false)
	return c
}
