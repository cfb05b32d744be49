package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/trials"
)

// trialConsentFormCmd is `trial consent-form`: the IRB approves a consent document.
func trialConsentFormCmd(g *globals) *cobra.Command {
	var as, cats, reason string
	c := &cobra.Command{
		Use:   "consent-form ID DOCUMENT --as IRB --categories C1,C2 --reason TEXT",
		Short: "Approve a consent-form version (the document's SHA-256 and the record categories participants consent to); the newest is in force",
		Args:  cobra.ExactArgs(2),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			doc, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			d := sha256.Sum256(doc)
			b := &trials.ConsentFormBody{Trial: args[0], Digest: hex.EncodeToString(d[:]), Categories: splitList(cats),
				Sign: trials.Sign{Meaning: trials.Approval, Reason: reason}}
			res, err := g.client().Send(cmd.Context(), who, b)
			if err != nil {
				return err
			}
			t, err := g.client().Trial(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Printf("consent form version %d of trial %s (sha256 %s, categories %s) in force from height %d, tx %s\n",
				t.Trial.ConsentForm, args[0], b.Digest, strings.Join(b.Categories, ","), res.Height, res.Hash)
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "the trial's IRB keystore")
	c.Flags().StringVar(&cats, "categories", "", "record categories the participant consents to share, comma-separated; required")
	c.Flags().StringVar(&reason, "reason", "", "why; required")
	return c
}

// trialReconsentCmd is `trial reconsent`: a participant signs the consent form in force.
func trialReconsentCmd(g *globals) *cobra.Command {
	var as string
	var form uint32
	c := &cobra.Command{
		Use:   "reconsent ID --as PARTICIPANT [--consent-form N]",
		Short: "Sign the trial's consent form in force (after a new version, before any further data is recorded)",
		Args:  cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			fs, err := g.client().TrialConsentForms(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if form == 0 {
				form = fs.InForce
			}
			if form == 0 || int(form) > len(fs.ConsentForms) {
				return fmt.Errorf("trial %s has no consent form version %d", args[0], form)
			}
			res, err := g.client().Send(cmd.Context(), who, &trials.ReconsentBody{Trial: args[0], ConsentForm: form})
			if err != nil {
				return err
			}
			f := fs.ConsentForms[form-1]
			fmt.Printf("signed consent form version %d of trial %s (sha256 %s, categories %s) at height %d, tx %s\n",
				form, args[0], f.Digest, strings.Join(f.Categories, ","), res.Height, res.Hash)
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "your (participant) keystore")
	c.Flags().Uint32Var(&form, "consent-form", 0, "the version you sign (default: the one in force)")
	return c
}

// trialWithdrawCmd is `trial withdraw`: a participant leaves the trial.
func trialWithdrawCmd(g *globals) *cobra.Command {
	var as, reason string
	c := &cobra.Command{
		Use:   "withdraw ID --as PARTICIPANT [--reason TEXT]",
		Short: "Withdraw from a trial: no further data is recorded for you, and later dataset exports leave yours out",
		Args:  cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			res, err := g.client().Send(cmd.Context(), who, &trials.WithdrawBody{Trial: args[0], Reason: reason})
			if err != nil {
				return err
			}
			fmt.Printf("withdrew from trial %s at height %d, tx %s\n", args[0], res.Height, res.Hash)
			fmt.Println("your research grants stay until you revoke them (`ehrchain consent list` and `ehrchain consent revoke GRANT`)")
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "your (participant) keystore")
	c.Flags().StringVar(&reason, "reason", "", "why (optional)")
	return c
}

// trialRecordCmd is `trial record`: an investigator records a FHIR resource as a trial
// observation, encrypted like any record.
func trialRecordCmd(g *globals) *cobra.Command {
	var as, patient, category string
	c := &cobra.Command{
		Use:   "record ID FILE --as INVESTIGATOR --patient P [--category C]",
		Short: "Record a FHIR JSON resource as a trial observation for an enrolled participant (encrypted; written for research)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			var res struct {
				ResourceType string `json:"resourceType"`
			}
			if json.Unmarshal(data, &res) != nil || res.ResourceType == "" {
				return fmt.Errorf("%s is not a FHIR JSON resource", args[1])
			}
			who, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			m, err := g.client().TrialRecord(cmd.Context(), who, args[0], client.NewRecord{Patient: pid, Category: category,
				ResourceType: res.ResourceType, ContentType: "application/fhir+json", Plaintext: data})
			if err != nil {
				return err
			}
			fmt.Printf("recorded %s version %d (%s, %s) for trial %s at height %d\n", m.RecordID, m.Version, m.ResourceType, m.Category, args[0], m.Height)
			return nil
		},
	}
	c.Flags().StringVar(&as, "as", "", "the site investigator's keystore")
	c.Flags().StringVar(&patient, "patient", "", "the participant (identity id or keystore name)")
	c.Flags().StringVar(&category, "category", "general", "record category (one the consent form names)")
	return c
}

// trialExportCmd is `trial export`: the sponsor writes the pseudonymised dataset it may
// read to a file and records the export event with the file's digest.
func trialExportCmd(g *globals) *cobra.Command {
	var as, out, reason string
	c := &cobra.Command{
		Use:   "export ID --as SPONSOR --out FILE [--reason TEXT]",
		Short: "Export the pseudonymised dataset (participant codes, ciphertext digests) and record the export with its SHA-256",
		Args:  cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			if out == "" {
				return fmt.Errorf("give --out FILE: where the dataset is written")
			}
			ds, err := g.client().As(who).TrialDataset(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			file := ds.Dataset.Encode()
			if got := trials.DatasetDigest(file); got != ds.Digest {
				return fmt.Errorf("the dataset received hashes to %s, the node says %s", got, ds.Digest)
			}
			if err := os.WriteFile(out, file, 0o600); err != nil {
				return err
			}
			b := &trials.ExportBody{Trial: args[0], AsOf: ds.Height, Dataset: ds.Digest, Participants: ds.Dataset.Participants,
				Records: ds.Dataset.Records, Sign: trials.Sign{Meaning: trials.Author, Reason: reason}}
			res, err := g.client().Send(cmd.Context(), who, b)
			if err != nil {
				return err
			}
			fmt.Printf("exported trial %s as of height %d to %s: %d participants, %d records, sha256 %s; export event at height %d, tx %s\n",
				args[0], ds.Height, out, b.Participants, b.Records, b.Dataset, res.Height, res.Hash)
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "the sponsor's keystore")
	c.Flags().StringVar(&out, "out", "", "the dataset file to write")
	c.Flags().StringVar(&reason, "reason", "dataset export", "why (recorded with the signature)")
	return c
}

// trialEnrolmentsCmd is `trial enrolments`: the enrolments, consents and withdrawals the
// signer may see.
func trialEnrolmentsCmd(g *globals) *cobra.Command {
	var as string
	var withdrawn, asJSON bool
	c := &cobra.Command{
		Use:   "enrolments ID --as WHO [--withdrawn] [--json]",
		Short: "List a trial's enrolments with their consent signatures and withdrawals (sponsor, IRB, auditor, investigator: all; participant: your own)",
		Args:  cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			es, err := g.client().As(who).TrialEnrolments(cmd.Context(), args[0], withdrawn)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(es)
			}
			for _, e := range es.Enrolments {
				var signed []string
				for _, c := range e.Consents {
					signed = append(signed, fmt.Sprintf("v%d@%d", c.Form, c.Height))
				}
				fmt.Printf("%s  code %s  site %q arm %q  enrolled at %d  consent form %d (signed %s)", e.Participant, e.Code, e.Site, e.Arm, e.Height, e.ConsentForm, strings.Join(signed, " "))
				if e.Withdrawal != nil {
					fmt.Printf("  WITHDRAWN at %d (%s)", e.Withdrawal.Height, e.Withdrawal.Time.Format("2006-01-02T15:04:05Z"))
				}
				fmt.Println()
			}
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "your keystore")
	c.Flags().BoolVar(&withdrawn, "withdrawn", false, "only the withdrawals")
	c.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON")
	return c
}
