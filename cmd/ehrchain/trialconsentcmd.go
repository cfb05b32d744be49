package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

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
