package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/erasure"
)

// eraseCmd is `record erase`: the patient crypto-shreds a record, a category or the chart.
func eraseCmd(g *globals) *cobra.Command {
	var as, category string
	var chart bool
	c := &cobra.Command{
		Use:   "erase [RECORD] --as PATIENT",
		Short: "Erase one of your records, a whole category (--category) or your chart (--chart): the ciphertext and keys leave the ledger's state; the audit trail stays",
		Long: "Erasure is a transaction signed by the patient. The state drops the ciphertext and its wrapped keys\n" +
			"(for a category or the chart, also the category keys and every grant's key shares for it), every node\n" +
			"deletes the record's blobs, and the record answers 410 Gone to everyone. The write and read events,\n" +
			"and the erasure itself, stay in the audit log. A legal hold refuses it. Copies in unpruned blocks and\n" +
			"backups stay until pruning and backup rotation pass them; without the keys they cannot be decrypted\n" +
			"(docs/THREAT_MODEL.md, \"Erasure\").",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b := &erasure.EraseBody{Category: category, Chart: chart}
			if len(args) == 1 {
				b.Record = args[0]
			}
			n := 0
			for _, set := range []bool{b.Record != "", b.Category != "", b.Chart} {
				if set {
					n++
				}
			}
			if n != 1 {
				return fmt.Errorf("name exactly one thing to erase: a record id, --category NAME or --chart")
			}
			if as == "" {
				return fmt.Errorf("give --as NAME: the patient's keystore signs the erasure")
			}
			who, err := g.unlock(as)
			if err != nil {
				return err
			}
			res, err := g.client().Send(cmd.Context(), who, b)
			if err != nil {
				return err
			}
			what := "record " + b.Record
			switch {
			case b.Category != "":
				what = "category " + b.Category
			case b.Chart:
				what = "the whole chart"
			}
			fmt.Printf("erased %s at height %d, tx %s\n", what, res.Height, res.Hash)
			if b.Category != "" || b.Chart {
				fmt.Println("delete the erased category keys from backups of your keystore too: a copy of a key opens old copies of the ciphertext")
			}
			return nil
		},
	}
	c.Flags().StringVar(&as, "as", "", "the patient's keystore")
	c.Flags().StringVar(&category, "category", "", "erase every record of this category and its key")
	c.Flags().BoolVar(&chart, "chart", false, "erase every record and every category key")
	return c
}

// holdCmd places and lifts legal holds, which block erasure while they last.
func holdCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "hold", Short: "Place or lift a legal hold on a patient's chart or one record (auditor or registrar); erasure is refused while it lasts"}
	var as, record, reason string
	place := &cobra.Command{
		Use: "place PATIENT --as AUDITOR --reason TEXT", Short: "Place a legal hold", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := g.resolveID(args[0])
			if err != nil {
				return err
			}
			who, err := g.unlock(as)
			if err != nil {
				return err
			}
			res, err := g.client().Send(cmd.Context(), who, &erasure.HoldBody{Patient: pid, Record: record, Reason: reason})
			if err != nil {
				return err
			}
			fmt.Printf("hold %s placed at height %d\n", erasure.HoldID(res.Hash), res.Height)
			return nil
		},
	}
	place.Flags().StringVar(&as, "as", "", "auditor or registrar keystore")
	place.Flags().StringVar(&record, "record", "", "hold one record only (default: the whole chart)")
	place.Flags().StringVar(&reason, "reason", "", "why (litigation, investigation, ...); required")
	c.AddCommand(place)

	var las, lreason string
	lift := &cobra.Command{
		Use: "lift PATIENT HOLD --as AUDITOR --reason TEXT", Short: "Lift a legal hold", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := g.resolveID(args[0])
			if err != nil {
				return err
			}
			who, err := g.unlock(las)
			if err != nil {
				return err
			}
			res, err := g.client().Send(cmd.Context(), who, &erasure.LiftBody{Patient: pid, Hold: args[1], Reason: lreason})
			if err != nil {
				return err
			}
			fmt.Printf("hold %s lifted at height %d\n", args[1], res.Height)
			return nil
		},
	}
	lift.Flags().StringVar(&las, "as", "", "auditor or registrar keystore")
	lift.Flags().StringVar(&lreason, "reason", "", "why; required")
	c.AddCommand(lift)
	return c
}
