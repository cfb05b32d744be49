package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/epcis"
)

// epcisCmd groups the GS1 EPCIS 2.0 (drug traceability) commands.
func epcisCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "epcis",
		Short: "GS1 EPCIS 2.0 supply-chain events: event hash IDs, validation",
	}
	c.AddCommand(epcisHashCmd(), epcisValidateCmd())
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
