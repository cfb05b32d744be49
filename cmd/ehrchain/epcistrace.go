package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// trustedAppHash is the app hash a proof answer is checked against: the one given with
// --app-hash (from a block header the user trusts), else the node's committed app hash,
// read from its status at the answer's height; fetch is asked again until the two heights
// meet (the node makes a block a second).
func trustedAppHash(ctx context.Context, c *client.Client, given string, fetch func() (int64, error)) ([]byte, error) {
	if given != "" {
		h, err := hex.DecodeString(given)
		if err != nil || len(h) != 32 {
			return nil, fmt.Errorf("--app-hash must be 64 hex digits")
		}
		_, err = fetch()
		return h, err
	}
	for ctx.Err() == nil {
		height, err := fetch()
		if err != nil {
			return nil, err
		}
		st, err := c.Status(ctx)
		if err != nil {
			return nil, err
		}
		if st.Height == height {
			return hex.DecodeString(st.AppHash)
		}
	}
	return nil, fmt.Errorf("the node's status never showed the answer's height: %w", ctx.Err())
}

func epcisTraceCmd(g *globals) *cobra.Command {
	var as, appHash, lot string
	var asJSON bool
	c := &cobra.Command{
		Use:   "trace EPC | trace --lot LOT GTIN",
		Short: "Print an item's chain of custody (EPC URI or GS1 Digital Link), or a lot's packs, proven against the app hash",
		Long: "One event a line in ledger order: height, event type and business step, capturer, Event Hash ID,\n" +
			"and the case or pallet it came through when it is not the item's own. Every record and event is\n" +
			"verified offline against --app-hash, or else the node's committed app hash at the trace's height.\n" +
			"The query is signed: partners that owned or received the item and regulators may trace it.\n\n" +
			"With --lot, GTIN (14 digits, its Digital Link or urn:epc:idpat:sgtin:CP.IR.*) and the lot number name a\n" +
			"lot: one pack a line, every page followed: the pack, its status and owner, the partners in its custody,\n" +
			"the cases or pallets it is in, and where it was last seen (business step, location, event time). A\n" +
			"partner is shown the packs it owned or received, a regulator all.",
		Args: cobra.ExactArgs(1),
	}
	c.RunE = g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		defer cancel()
		cl := g.client()
		if lot != "" {
			return traceLot(ctx, cmd.OutOrStdout(), cl, who, args[0], lot, appHash, asJSON)
		}
		var tr *wire.TraceResponse
		trusted, err := trustedAppHash(ctx, cl, appHash, func() (int64, error) {
			var err error
			tr, err = cl.As(who).Trace(ctx, args[0])
			if err != nil {
				return 0, err
			}
			return tr.Height, nil
		})
		if err != nil {
			return err
		}
		if err := tr.Verify(trusted); err != nil {
			return fmt.Errorf("the trace of %s does not verify against app hash %X: %w", tr.Item, trusted, err)
		}
		if asJSON {
			return indentJSON(cmd.OutOrStdout(), tr)
		}
		out := cmd.OutOrStdout()
		it := tr.Items[0].Item
		fmt.Fprintf(out, "%s %s owner %s%s\n", it.ID, it.Status, it.Owner, map[bool]string{true: " QUARANTINED"}[it.Quarantined])
		for _, e := range tr.Events {
			var ev struct{ Type, BizStep, Action string }
			json.Unmarshal(e.Event.Event, &ev)
			line := fmt.Sprintf("%d %s %s %s %s", e.Event.Height, ev.Type, cmp.Or(ev.BizStep, ev.Action), e.Event.CapturedBy, e.HashID)
			if e.Via != tr.Item {
				line += " via " + e.Via
			}
			fmt.Fprintln(out, line)
		}
		if tr.Truncated {
			fmt.Fprintf(out, "truncated at %d events\n", supply.MaxTraceEvents)
		}
		fmt.Fprintf(out, "verified: %d records, %d events at height %d against app hash %X\n", len(tr.Items), len(tr.Events), tr.Height, trusted)
		return nil
	})
	c.Flags().StringVar(&as, "as", "", "your keystore (a partner in the item's custody, or a regulator)")
	c.Flags().StringVar(&lot, "lot", "", "trace this lot of the GTIN given instead of one item")
	c.Flags().StringVar(&appHash, "app-hash", "", "the app hash to verify against (hex); default: the node's at the trace's height")
	c.Flags().BoolVar(&asJSON, "json", false, "print the whole answer with its proofs as JSON")
	c.MarkFlagRequired("as")
	return c
}

// indentJSON prints v as indented JSON to the command's output (printJSON's is stdout).
func indentJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, string(b))
	return nil
}

func epcisSuspectsCmd(g *globals) *cobra.Command {
	var as string
	var after uint64
	var limit int
	c := &cobra.Command{
		Use:   "suspects",
		Short: "List suspect-product events: all of them for a regulator, those involving you for a partner",
		Long: "One a line: sequence number, reason, the items quarantined, and what happened. When more follow,\n" +
			"the last line is \"next: N\"; pass --after N for the next page.",
		Args: cobra.NoArgs,
	}
	c.RunE = g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, _ []string) error {
		res, err := g.client().As(who).Suspects(cmd.Context(), after, limit)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		for _, s := range res.Suspects {
			fmt.Fprintf(out, "%d %s %s %s\n", s.Seq, s.Reason, strings.Join(s.Items, ","), s.Detail)
		}
		if res.Next != "" {
			fmt.Fprintln(out, "next:", res.Next)
		}
		return nil
	})
	c.Flags().StringVar(&as, "as", "", "your keystore (a regulator or a trading partner)")
	c.Flags().Uint64Var(&after, "after", 0, "list the events after this sequence number (the previous page's next)")
	c.Flags().IntVar(&limit, "limit", 0, "at most this many (default: the node's, 100)")
	c.MarkFlagRequired("as")
	return c
}

func epcisVerifyCmd(g *globals) *cobra.Command {
	var appHash string
	var asJSON bool
	c := &cobra.Command{
		Use:   "verify CODE",
		Short: "Verify a pack's code (GS1 Digital Link or DataMatrix element string): genuine, unknown, suspect, recalled, expired or dispensed",
		Long: "No keystore is needed. The first line is the answer and why; the proof of the pack's public record\n" +
			"(or of its absence) and of its lot's is verified offline against --app-hash, or else the node's\n" +
			"committed app hash at the answer's height, and the answer recomputed from the proven records.\n" +
			"Example: ehrchain epcis verify '(01)04012345123456(21)1001(10)L1(17)270630'",
		Args: cobra.ExactArgs(1),
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		defer cancel()
		cl := g.client()
		var res *wire.VerifyResponse
		trusted, err := trustedAppHash(ctx, cl, appHash, func() (int64, error) {
			var err error
			res, err = cl.VerifyCode(ctx, args[0])
			if err != nil {
				return 0, err
			}
			return res.Height, nil
		})
		if err != nil {
			return err
		}
		if err := res.Verify(trusted); err != nil {
			return fmt.Errorf("the answer does not verify against app hash %X: %w", trusted, err)
		}
		if asJSON {
			return indentJSON(cmd.OutOrStdout(), res)
		}
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "%s: %s\n", res.Verdict.Answer, res.Verdict.Detail)
		fmt.Fprintf(out, "pack %s\n", res.Item)
		fmt.Fprintf(out, "verified at height %d (block time %s) against app hash %X\n", res.Height, res.BlockTime.UTC().Format(time.RFC3339), trusted)
		return nil
	}
	c.Flags().StringVar(&appHash, "app-hash", "", "the app hash to verify against (hex); default: the node's at the answer's height")
	c.Flags().BoolVar(&asJSON, "json", false, "print the whole answer with its proofs as JSON")
	return c
}
