package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/fhir"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/shard"
	"github.com/ehrchain/ehrchain/internal/signin"
)

// The FHIR gateway of a running node, and the keystores start unlocks for it.
var (
	fhirUnlockNames []string
	fhirUnlocked    []*keys.Keystore
	fhirGateway     *fhir.Gateway
)

// addFHIRFlags adds start's --fhir-unlock.
func addFHIRFlags(f *pflag.FlagSet) {
	f.StringSliceVar(&fhirUnlockNames, "fhir-unlock", nil, "keystores (in --home/keys) the FHIR gateway may act for: the EHR systems that authenticate with signed JWTs")
}

// unlockForFHIR decrypts the keystores named by --fhir-unlock before the node starts.
func unlockForFHIR(g *globals) error {
	for _, name := range fhirUnlockNames {
		ks, err := g.unlock(name)
		if err != nil {
			return fmt.Errorf("--fhir-unlock %s: %w", name, err)
		}
		fhirUnlocked = append(fhirUnlocked, ks)
	}
	return nil
}

// mountFHIR serves the FHIR R4 gateway under /fhir/r4 on the node's API, with the
// home's sensitivity policy, its register of SMART apps, the node's sign-in state for
// person login and, when HOME/config/network.json describes the shards the node's chain
// is one of, routing by patient to their home shard.
func mountFHIR(srv *api.Server, n *node.Node, home string, si *signin.Service) error {
	pol, err := sensitivityPolicy(home)
	if err != nil {
		return err
	}
	apps, err := fhir.LoadApps(filepath.Join(home, "config", fhir.AppsFile))
	if err != nil {
		return err
	}
	var shards *fhir.Shards
	p := node.Paths{Home: home}.Network()
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		net, err := shard.Load(p)
		if err != nil {
			return err
		}
		if shards, err = fhir.NewShards(net, n.ChainID()); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	fhirGateway = fhir.Mount(srv, n, keys.Dir{Path: filepath.Join(home, "keys")})
	fhirGateway.Shards = shards
	fhirGateway.Policy = pol
	fhirGateway.Apps = apps
	fhirGateway.SignIn = si
	for _, ks := range fhirUnlocked {
		fhirGateway.Unlock(ks)
	}
	return nil
}

// sensitivityPolicy is the default sensitivity policy extended by
// HOME/config/fhir-sensitivity.json, shared by the gateway and the importer.
func sensitivityPolicy(home string) (*fhir.Policy, error) {
	return fhir.LoadPolicy(filepath.Join(home, "config", fhir.PolicyFile))
}

func fhirCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "fhir", Short: "FHIR R4: bulk import of FHIR Bundles, gateway tokens"}
	c.AddCommand(fhirImportCmd(g), fhirTokenCmd(g))
	return c
}

func fhirImportCmd(g *globals) *cobra.Command {
	var as, journal string
	var workers int
	var quiet bool
	c := &cobra.Command{
		Use:   "import FILE|DIR...",
		Short: "Import FHIR Bundles (one patient each, as Synthea writes them) as a provider; a second run imports nothing twice",
		Long: `Import FHIR R4 Bundles as the provider --as. Each bundle holds one Patient: a patient
identity is created for it (keystore fhir-<source patient id> in --home/keys, under the same
passphrase), registered by the provider and given category keys; or, on a later run, found
again. Every resource becomes one record encrypted for the patient, authored by the
provider, in the consent category its codes call for (the default sensitivity policy,
extended by --home/config/fhir-sensitivity.json if present). References between the
bundle's entries are rewritten to the ledger ids. What was submitted is remembered in a
journal, so an interrupted or repeated run resumes.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := fhir.Files(args)
			if err != nil {
				return err
			}
			prov, err := g.unlock(as)
			if err != nil {
				return err
			}
			pass, err := g.passphrase("patient keystores", false)
			if err != nil {
				return err
			}
			cl := g.client()
			st, err := runImport(cmd.Context(), cl, g.keyring(), prov, pass, keys.DefaultKDF, files, journal, g.home, workers, quiet)
			if st != nil {
				fmt.Println(st.Summary())
			}
			return err
		},
	}
	c.Flags().StringVar(&as, "as", "", "keystore of the importing provider")
	c.Flags().StringVar(&journal, "journal", "", "journal file (default --home/fhir-import/<provider>-<chain>.journal)")
	c.Flags().IntVar(&workers, "workers", 0, "encryption workers (default: the number of CPUs)")
	c.Flags().BoolVar(&quiet, "quiet", false, "no progress bar")
	c.MarkFlagRequired("as")
	return c
}

// runImport imports files with a progress bar on stderr.
func runImport(ctx context.Context, cl *client.Client, ring keys.Dir, prov *keys.Keystore, pass []byte, kdf keys.KDFParams,
	files []string, journal, home string, workers int, quiet bool) (*fhir.ImportStats, error) {
	if journal == "" {
		chainID, err := cl.ChainIDOf(ctx)
		if err != nil {
			return nil, err
		}
		journal = filepath.Join(home, "fhir-import", prov.ID+"-"+chainID+".journal")
	}
	pol, err := sensitivityPolicy(home)
	if err != nil {
		return nil, err
	}
	bar := &progressBar{w: os.Stderr, quiet: quiet}
	im := &fhir.Importer{Client: cl, Provider: prov, Keys: ring, Passphrase: pass, KDF: kdf, Workers: workers,
		Journal: journal, Progress: bar.update, Policy: pol}
	st, err := im.Import(ctx, files)
	bar.done()
	return st, err
}

// progressBar draws "[#####.....] done/total resources  rate/s" at most ten times a second.
type progressBar struct {
	w     io.Writer
	quiet bool
	mu    sync.Mutex
	start time.Time
	last  time.Time
	drawn bool
}

func (p *progressBar) update(done, total int) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.start.IsZero() {
		p.start = now
	}
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	const width = 30
	n := width * done / max(total, 1)
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-3)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d resources  %.0f/s ", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, rate)
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

func fhirTokenCmd(g *globals) *cobra.Command {
	var as string
	c := &cobra.Command{
		Use:   "token",
		Short: "Get a FHIR gateway bearer token: sign a JWT client assertion with --as's key and exchange it",
		Long: `Signs a SMART Backend Services style client assertion (JWT, EdDSA) with the identity's
key and exchanges it at the node's /fhir/r4/auth/token. The node must hold the identity's
keystore unlocked (ehrchain start --fhir-unlock NAME). Prints the bearer token: an opaque
random string, not a JWT, that only the node which issued it knows (in memory, until it
expires or the node restarts).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, err := g.unlock(as)
			if err != nil {
				return err
			}
			tok, err := fhirToken(g.client(), ks)
			if err != nil {
				return err
			}
			fmt.Println(tok)
			return nil
		},
	}
	c.Flags().StringVar(&as, "as", "", "keystore of the identity")
	c.MarkFlagRequired("as")
	return c
}

// fhirToken exchanges a signed client assertion for a bearer token.
func fhirToken(cl *client.Client, ks *keys.Keystore) (string, error) {
	tokenURL := cl.Base + fhir.Prefix + "/auth/token"
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {fhir.AssertionType},
		"client_assertion": {fhir.SignAssertion(ks, tokenURL, time.Now(), 2*time.Minute)}}
	resp, err := cl.HTTP.PostForm(tokenURL, form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken      string `json:"access_token"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return "", fmt.Errorf("token endpoint: HTTP %d", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token refused (HTTP %d): %s", resp.StatusCode, out.ErrorDescription)
	}
	return out.AccessToken, nil
}
