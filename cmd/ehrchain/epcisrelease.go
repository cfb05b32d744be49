package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/keys"
)

func epcisReleaseCmd(g *globals) *cobra.Command {
	var as, reason string
	c := &cobra.Command{
		Use:   "release ITEM...",
		Short: "Release quarantined items (EPC URIs or Digital Links) with a reason, as a regulator",
		Long: "The investigation found the product not illegitimate (DSCSA). All or nothing: an item that is not\n" +
			"quarantined refuses the release. A destroyed, dispensed or recalled item stays unable to move, and\n" +
			"the suspect events that named the items stay on the ledger.",
		Args: cobra.MinimumNArgs(1),
	}
	c.RunE = g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
		if strings.TrimSpace(reason) == "" {
			return fmt.Errorf("--reason is required: what the investigation found")
		}
		res, err := g.client().Release(cmd.Context(), who, args, reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "released %d items at height %d, tx %s\n", len(args), res.Height, res.Hash)
		return nil
	})
	c.Flags().StringVar(&as, "as", "", "the regulator's keystore")
	c.Flags().StringVar(&reason, "reason", "", "what the investigation found")
	c.MarkFlagRequired("as")
	return c
}

func epcisReleasesCmd(g *globals) *cobra.Command {
	var as string
	var after uint64
	var limit int
	c := &cobra.Command{
		Use:   "releases",
		Short: "List releases from quarantine: all of them for a regulator, those naming your items for a partner",
		Long: "One a line: sequence number, height, the regulator, the items released and the reason. When more\n" +
			"follow, the last line is \"next: N\"; pass --after N for the next page.",
		Args: cobra.NoArgs,
	}
	c.RunE = g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, _ []string) error {
		res, err := g.client().As(who).Releases(cmd.Context(), after, limit)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		for _, r := range res.Releases {
			fmt.Fprintf(out, "%d %d %s %s %q\n", r.Seq, r.Height, r.By, strings.Join(r.Items, ","), r.Reason)
		}
		if res.Next != "" {
			fmt.Fprintln(out, "next:", res.Next)
		}
		return nil
	})
	c.Flags().StringVar(&as, "as", "", "your keystore (a regulator or a trading partner)")
	c.Flags().Uint64Var(&after, "after", 0, "list the releases after this sequence number (the previous page's next)")
	c.Flags().IntVar(&limit, "limit", 0, "at most this many (default: the node's)")
	c.MarkFlagRequired("as")
	return c
}
