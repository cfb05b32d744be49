package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// retentionCmd sets retention periods and expires the records whose period has ended.
func retentionCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "retention", Short: "Retention periods per category (registrar) and the expiry of records whose period ended (docs/OPERATIONS.md, \"Retention\")"}
	c.AddCommand(retentionSetCmd(g), retentionListCmd(g), retentionDueCmd(g), retentionApplyCmd(g))
	return c
}

// retentionSetCmd is `retention set`.
func retentionSetCmd(g *globals) *cobra.Command {
	var as, reason string
	set := &cobra.Command{
		Use:   "set CATEGORY DAYS --as REGISTRAR --reason TEXT",
		Short: "Keep CATEGORY's records DAYS days after their last write (\"*\": every category without its own; 0 removes the category's period)",
		Args:  cobra.ExactArgs(2),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			days, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("DAYS %q is not a whole number of days", args[1])
			}
			if err := erasure.CheckPolicy(args[0], days); err != nil {
				return err
			}
			res, err := g.client().SetRetention(cmd.Context(), who, args[0], days, reason)
			if err != nil {
				return err
			}
			fmt.Printf("retention of %s set to %d days at height %d\n", args[0], days, res.Height)
			return nil
		}),
	}
	set.Flags().StringVar(&as, "as", "", "the registrar's keystore")
	set.Flags().StringVar(&reason, "reason", "", "why (the statute or policy it follows); required")
	return set
}

// retentionListCmd is `retention list`.
func retentionListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "The retention periods in force", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := g.client().RetentionPolicies(cmd.Context())
			if err != nil {
				return err
			}
			if len(r.Policies) == 0 {
				fmt.Println("no retention periods: records are kept until their patients erase them")
			}
			for _, p := range r.Policies {
				fmt.Printf("%-24s %6d days  set by %s at height %d: %s\n", p.Category, p.Days, p.SetBy, p.SetAt, p.Reason)
			}
			return nil
		},
	}
}

// retentionDueCmd is `retention due`.
func retentionDueCmd(g *globals) *cobra.Command {
	var das, after string
	var limit int
	due := &cobra.Command{
		Use: "due --as REGISTRAR|AUDITOR", Short: "List the records whose retention period has ended at the last block (and those a legal hold keeps)", Args: cobra.NoArgs,
		RunE: g.acting(&das, func(cmd *cobra.Command, who *keys.Keystore, _ []string) error {
			d, err := g.client().As(who).RetentionDue(cmd.Context(), after, limit)
			if err != nil {
				return err
			}
			fmt.Printf("at height %d (%s): %d due, %d kept by a legal hold\n", d.Height, d.At.Format(time.RFC3339), len(d.Due), len(d.Held))
			for _, r := range d.Due {
				fmt.Printf("due   %s  patient %s  %s  last written %s, kept until %s\n", r.Record, r.Patient, r.Category, r.LastWrite.Format(time.DateOnly), r.Expires.Format(time.DateOnly))
			}
			for _, r := range d.Held {
				fmt.Printf("held  %s  patient %s  %s  by hold %s\n", r.Record, r.Patient, r.Category, r.Hold)
			}
			if d.More {
				fmt.Printf("(more than %d due; the next page: --after %s)\n", limit, d.Due[len(d.Due)-1].Record)
			}
			return nil
		}),
	}
	due.Flags().StringVar(&das, "as", "", "a registrar or auditor keystore (the list names records and patients)")
	due.Flags().IntVar(&limit, "limit", 1000, "list at most this many")
	due.Flags().StringVar(&after, "after", "", "start after this record id (the next page)")
	return due
}

// retentionApplyCmd is `retention apply`.
func retentionApplyCmd(g *globals) *cobra.Command {
	var aas string
	apply := &cobra.Command{
		Use:   "apply --as REGISTRAR",
		Short: "Expire every record whose retention period has ended (crypto-shredded, as an erasure; legal holds are respected). Run it daily",
		Args:  cobra.NoArgs,
		RunE: g.acting(&aas, func(cmd *cobra.Command, who *keys.Keystore, _ []string) error {
			expired, held, err := g.client().ApplyRetention(cmd.Context(), who, func(n int) {
				fmt.Fprintf(os.Stderr, "expired %d records\n", n)
			})
			fmt.Printf("%d records expired; %d due but kept by a legal hold\n", len(expired), len(held))
			for _, r := range held {
				fmt.Printf("held  %s  patient %s  by hold %s\n", r.Record, r.Patient, r.Hold)
			}
			return err
		}),
	}
	apply.Flags().StringVar(&aas, "as", "", "the registrar's keystore")
	return apply
}
