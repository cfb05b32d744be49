// Command ehrchain is the whole system in one binary: the node (CometBFT and the ehrchain
// application in-process), its HTTP API, and the client commands.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
)

func main() {
	if err := rootCmd().Execute(); err != nil {
		var ce *client.Error
		if errors.As(err, &ce) {
			fmt.Fprintf(os.Stderr, "error: rejected (%s/%d): %s\n", ce.Codespace, ce.Code, ce.Message)
		} else {
			fmt.Fprintf(os.Stderr, "error: %v\n", err)
		}
		os.Exit(1)
	}
}

// globals are the flags every command shares.
type globals struct {
	home           string
	nodeURL        string
	passphraseFile string
	insecure       bool
	network        string // a network description: patient-scoped commands go to the home shard
}

func defaultHome() string {
	if h := os.Getenv("EHRCHAIN_HOME"); h != "" {
		return h
	}
	d, err := os.UserHomeDir()
	if err != nil {
		return ".ehrchain"
	}
	return filepath.Join(d, ".ehrchain")
}

func rootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "ehrchain",
		Short:         "A permissioned blockchain for electronic health records",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.home, "home", defaultHome(), "node home directory (env EHRCHAIN_HOME)")
	pf.StringVar(&g.nodeURL, "node", "", "API address of the node to talk to (default: the API address in --home's config, else http://127.0.0.1:8080)")
	pf.StringVar(&g.passphraseFile, "passphrase-file", "", "file holding the keystore passphrase (else env EHRCHAIN_PASSPHRASE, else a prompt)")
	pf.BoolVar(&g.insecure, "insecure", false, "accept the node's TLS certificate without checking it (self-signed test setups only)")
	pf.StringVar(&g.network, "network", "", "network description file (docs/SCALING.md): record, consent, audit and patient registration go to the patient's home shard")
	root.AddCommand(initCmd(g), startCmd(g), statusCmd(g), keysCmd(g), identityCmd(g), recordCmd(g), consentCmd(g), demoCmd(g), benchCmd(g), auditCmd(g), verifyCmd(g))
	root.AddCommand(planCmd(g), coverageCmd(g), claimCmd(g), priorAuthCmd(g))
	root.AddCommand(portalCmd(g))
	root.AddCommand(testnetCmd(g), validatorCmd(g))
	root.AddCommand(emergencyCmd(g))
	root.AddCommand(fhirCmd(g))
	root.AddCommand(backupCmd(g), restoreCmd(g), holdCmd(g), retentionCmd(g))
	root.AddCommand(epcisCmd(g))
	root.AddCommand(trialCmd(g))
	root.AddCommand(relayCmd(g), interchainCmd(g))
	return root
}
