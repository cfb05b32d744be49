package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/supply"
)

// recordRecallCmds are the record subcommands of the recall path: the pharmacist's
// dispense into the chart and the patient's check of it against recalls.
func recordRecallCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{recordDispenseCmd(g), recordRecallsCmd(g)}
}

func recordDispenseCmd(g *globals) *cobra.Command {
	var as, patient, medication, pharmacy, category string
	c := &cobra.Command{
		Use:   "dispense CODE",
		Short: "Write a FHIR MedicationDispense for a pack handed to a patient (its GS1 Digital Link, lot and expiry)",
		Long: "CODE is the pack's GS1 Digital Link or DataMatrix element string, as scanned. The record is encrypted\n" +
			"for the patient like any other; the pack's serial number enters no public record.\n" +
			"Example: ehrchain record dispense '(01)04012345123456(21)1001(10)L1(17)270630' --as pharmacist --patient pat --medication 'Amoxicillin 500 mg'",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := supply.ParseCode(args[0])
			if err != nil {
				return err
			}
			author, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			rec, err := client.DispenseRecord(client.Dispensed{Code: code, Medication: medication, Patient: pid,
				Pharmacy: pharmacy, HandedOver: time.Now()})
			if err != nil {
				return err
			}
			m, err := g.client().PutRecord(cmd.Context(), author, client.NewRecord{Patient: pid, Category: category,
				ResourceType: client.DispenseResourceType, ContentType: "application/fhir+json", Plaintext: rec})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s version %d (MedicationDispense of %s) at height %d\n", m.RecordID, m.Version, client.DigitalLink(code), m.Height)
			return nil
		},
	}
	c.Flags().StringVar(&as, "as", "", "your keystore (a provider, e.g. the pharmacist)")
	c.Flags().StringVar(&patient, "patient", "", "patient id or keystore name")
	c.Flags().StringVar(&medication, "medication", "", "the medication's name, as the patient should read it")
	c.Flags().StringVar(&pharmacy, "pharmacy", "", "the dispensing pharmacy's name")
	c.Flags().StringVar(&category, "category", "general", "record category")
	c.MarkFlagRequired("as")
	c.MarkFlagRequired("patient")
	return c
}

func recordRecallsCmd(g *globals) *cobra.Command {
	var as, via string
	c := &cobra.Command{
		Use:   "recalls",
		Short: "Check the packs dispensed to you against recalls (your own chart, then unsigned proven verifications)",
		Long: "Reads your MedicationDispense records with your keys (audited reads of your own chart), then asks\n" +
			"the node's public verification, unsigned and with only each pack's code, about each pack. Every\n" +
			"answer's proof is checked against the node's committed app hash at its height. One line per pack\n" +
			"recalled or suspect, then a count. The answers are proven, so any node will do: --verify-via sends the\n" +
			"verifications to another node than the one that serves your chart, so that no one operator sees both\n" +
			"your signed reads and the codes you then ask about.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			pat, err := g.unlock(as)
			if err != nil {
				return err
			}
			cl := g.client()
			packs, err := cl.DispensedPacksOf(ctx, pat)
			if err != nil {
				return err
			}
			verifier := cl
			if via != "" {
				verifier = client.New(via)
				if g.insecure {
					verifier.Insecure()
				}
			}
			alerts, err := verifier.CheckRecalls(ctx, packs)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, a := range alerts {
				fmt.Fprintf(out, "%s: %s, lot %s, serial %s (record %s): %s\n", a.Answer.Verdict.Answer, medicationName(a.Medication),
					lotName(a.Code.Lot), a.Code.Serial, a.Record, a.Answer.Verdict.Detail)
			}
			fmt.Fprintf(out, "%d dispensed packs checked, %d recalled or suspect\n", len(packs), len(alerts))
			return nil
		},
	}
	c.Flags().StringVar(&as, "as", "", "your (patient) keystore")
	c.Flags().StringVar(&via, "verify-via", "", "the API URL of another node to ask the verifications (default: --node)")
	c.MarkFlagRequired("as")
	return c
}

func medicationName(s string) string {
	if s == "" {
		return "a medication"
	}
	return s
}

func lotName(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
