package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
)

// epcisCmd groups the GS1 EPCIS 2.0 (drug traceability) commands.
func epcisCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "epcis",
		Short: "GS1 EPCIS 2.0 supply-chain events: capture, query, trace, suspects, verification of a pack",
	}
	c.AddCommand(epcisHashCmd(), epcisValidateCmd(), epcisCaptureCmd(g), epcisEventCmd(g), epcisBindCmd(g),
		epcisQueryCmd(g), epcisTraceCmd(g), epcisSuspectsCmd(g), epcisReleaseCmd(g), epcisReleasesCmd(g), epcisVerifyCmd(g))
	return c
}

func epcisCaptureCmd(g *globals) *cobra.Command {
	var as string
	c := &cobra.Command{
		Use:   "capture FILE",
		Short: "Sign an EPCIS 2.0 capture document as a trading partner and capture its events on the ledger",
		Long: "Prints each event's Event Hash ID and whether it was new to the ledger (\"new\") or already\n" +
			"there (\"known\"). The node validates the document against GS1's schema (its epcis_schema).",
		Args: cobra.ExactArgs(1),
	}
	c.RunE = g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
		doc, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		defer cancel()
		res, err := g.client().Capture(ctx, who, doc)
		if err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		for _, ev := range res.Events {
			state := "known"
			if ev.New {
				state = "new"
			}
			fmt.Fprintln(cmd.OutOrStdout(), ev.HashID, state)
		}
		return nil
	})
	c.Flags().StringVar(&as, "as", "", "your keystore (a bound manufacturer, repackager, wholesaler or dispenser)")
	c.MarkFlagRequired("as")
	return c
}

func epcisEventCmd(g *globals) *cobra.Command {
	var as string
	c := &cobra.Command{
		Use:   "event HASH",
		Short: "Print a captured event, by its Event Hash ID (ni:///sha-256;...) or the id's 64 hex digits",
		Long:  "The query is signed: the event's capturer, the partners in the custody of an item it names, and\nregulators may read it.",
		Args:  cobra.ExactArgs(1),
	}
	c.RunE = g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
		ev, err := g.client().As(who).EPCISEvent(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(ev, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), string(b))
		return nil
	})
	c.Flags().StringVar(&as, "as", "", "your keystore (the capturer, a partner in the custody of an item it names, or a regulator)")
	c.MarkFlagRequired("as")
	return c
}

func epcisBindCmd(g *globals) *cobra.Command {
	var as, partner string
	var prefixes, glns []string
	c := &cobra.Command{
		Use:   "bind",
		Short: "As the registrar, bind GS1 company prefixes and GLNs to a trading partner",
		Args:  cobra.NoArgs,
	}
	c.RunE = g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, _ []string) error {
		id, err := g.resolveID(partner)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
		defer cancel()
		if err := g.client().BindPartner(ctx, who, supply.BindBody{Partner: id, Prefixes: prefixes, GLNs: glns}); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "bound to %s: prefixes %v, GLNs %v\n", id, prefixes, glns)
		return nil
	})
	c.Flags().StringVar(&as, "as", "registrar", "the registrar's keystore")
	c.Flags().StringVar(&partner, "partner", "", "the trading partner's id or keystore name")
	c.Flags().StringSliceVar(&prefixes, "prefix", nil, "GS1 company prefix (repeatable)")
	c.Flags().StringSliceVar(&glns, "gln", nil, "13-digit GLN (repeatable)")
	c.MarkFlagRequired("partner")
	return c
}

func epcisHashCmd() *cobra.Command {
	var showPrehash bool
	c := &cobra.Command{
		Use:   "hash FILE",
		Short: "Print the EPCIS Event Hash ID (CBV 2.0) of each event of a JSON-LD document, one a line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			events, err := epcis.HashDocument(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			for _, ev := range events {
				fmt.Fprintln(out, ev.HashID)
				if showPrehash {
					fmt.Fprintln(out, ev.Prehash)
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&showPrehash, "prehash", false, "also print each event's pre-hash string after its hash")
	return c
}

func epcisValidateCmd() *cobra.Command {
	var schemaPath string
	c := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check an EPCIS 2.0 JSON-LD document against GS1's EPCIS JSON Schema (given with --schema)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if schemaPath == "" {
				return fmt.Errorf("--schema: the path of GS1's EPCIS-JSON-Schema.json is required (it is not shipped with ehrchain)")
			}
			schema, err := os.ReadFile(schemaPath)
			if err != nil {
				return err
			}
			v, err := epcis.NewValidator(schema)
			if err != nil {
				return err
			}
			doc, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if err := v.Validate(doc); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "valid")
			return nil
		},
	}
	c.Flags().StringVar(&schemaPath, "schema", "", "path of GS1's EPCIS-JSON-Schema.json")
	return c
}
