package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/demo"
	"github.com/ehrchain/ehrchain/internal/fhir"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
)

// demoPassphrase protects the demo's keystores when no passphrase is given. It is printed:
// the demo directory holds demo identities only.
const demoPassphrase = "ehrchain-demo-passphrase"

func demoCmd(g *globals) *cobra.Command {
	var dir, apiAddr, data string
	var once bool
	var pf portalFlags
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a single-node chain with a hospital, two providers, a patient and an auditor, play the consent story, and keep serving",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stopWithGoRun()
			g.home = dir
			if g.passphraseFile == "" && os.Getenv(passphraseEnv) == "" {
				os.Setenv(passphraseEnv, demoPassphrase)
			}
			pass, err := g.passphrase("demo keystores", false)
			if err != nil {
				return err
			}
			if _, err := os.Stat(node.Paths{Home: dir}.Config()); err != nil {
				r, err := node.Init(node.InitOptions{Home: dir, ChainID: "ehrchain-demo", Passphrase: pass, KDF: keys.DefaultKDF})
				if err != nil {
					return err
				}
				fmt.Printf("initialized a single-validator chain %s in %s\n", r.ChainID, dir)
			} else {
				fmt.Printf("reusing the demo chain in %s\n", dir)
			}
			if err := demo.EnableEPCIS(dir, data); err != nil {
				return err
			}
			stop := make(chan error, 1)
			ready := func(n *node.Node, addr string) {
				go func() {
					env := demoEnv(g)
					err := demo.Play(env, client.New(addr), pass, data)
					if err == nil {
						err = demo.Import(env, client.New(addr), pass, data)
					}
					if err != nil {
						fmt.Fprintf(os.Stderr, "demo failed: %v\n", err)
					}
					if once || err != nil {
						stop <- err
						return
					}
					fmt.Printf("\nThe node keeps serving at %s (Ctrl-C stops it). Go on with the CLI, for example:\n", addr)
					fmt.Printf("  export EHRCHAIN_PASSPHRASE=%s\n", string(pass))
					cli := demoCLI(g, addr)
					fmt.Printf("  %s identity list --as registrar\n", cli)
					fmt.Printf("  %s record list --as patient --patient patient\n", cli)
					fmt.Printf("  %s consent list --patient patient\n", cli)
					if !pf.off {
						printPortal(addr, pf.host, pass)
					}
				}()
			}
			// Block lines ("committed height=...") would bury the story; errors still show.
			return runNode(dir, node.Overrides{API: apiAddr, NoRPC: true, P2P: "127.0.0.1:0", LogLevel: "error"}, pf, ready, stop)
		},
	}
	c.Flags().StringVar(&dir, "dir", ".ehrchain-demo", "directory of the demo node (created, or reused)")
	c.Flags().StringVar(&apiAddr, "api", "127.0.0.1:8080", "HTTP API address")
	c.Flags().StringVar(&data, "data", "../shared/data/synthea-r4", "Synthea FHIR bundles: one Observation plays the story, then all are imported (a built-in Observation is used if absent)")
	c.Flags().BoolVar(&once, "once", false, "stop after the story instead of serving")
	pf.add(c)
	return c
}

// demoEnv wires the story (internal/demo) to this command line: the keyring, printed
// hints, the FHIR import with its progress bar, proofs against the node's app hash.
func demoEnv(g *globals) *demo.Env {
	return &demo.Env{Keys: g.keyring(), Home: g.home, Out: os.Stdout,
		CLI: func(base string) string { return demoCLI(g, base) },
		Import: func(ctx context.Context, cl *client.Client, prov *keys.Keystore, pass []byte, files []string) (*fhir.ImportStats, error) {
			return runImport(ctx, cl, g.keyring(), prov, pass, keys.DefaultKDF, files, "", g.home, 0, false)
		},
		AppHashAt: func(ctx context.Context, cl *client.Client, fetch func() (int64, error)) ([]byte, error) {
			return trustedAppHash(ctx, cl, "", fetch)
		},
		UnlockFHIR: func(ks *keys.Keystore) {
			if fhirGateway != nil {
				fhirGateway.Unlock(ks)
			}
		},
	}
}

// printPortal tells how to sign in to the web portal as the demo identities.
func printPortal(addr, host string, pass []byte) {
	scheme, hostport, _ := strings.Cut(addr, "://")
	fmt.Printf("\nOr open the web portal: %s\n", portalURL(scheme, host, hostport))
	fmt.Printf("  identity    role       passphrase\n")
	for _, r := range [][2]string{{"patient", "patient"}, {"dr-alice", "provider"}, {"dr-bob", "provider"}, {"auditor", "auditor"}} {
		fmt.Printf("  %-11s %-10s %s\n", r[0], r[1], pass)
	}
	fmt.Println("  At an identity's first sign-in the portal enrols its second factor: scan the QR code")
	fmt.Println("  with an authenticator app (or type the secret in), or create a passkey on this device.")
	fmt.Println("  From then on every sign-in needs the passphrase and that factor.")
	fmt.Println("  The FHIR person login takes the authenticator app's code too (patients, and providers")
	fmt.Println("  unlocked on the node); failures there and here lock both:")
	fmt.Printf("    curl -d '{\"keystore\":\"patient\",\"passphrase\":\"%s\",\"otp\":\"CODE\"}' %s%s/auth/login\n", pass, addr, fhir.Prefix)
	fmt.Println("  The patient is alerted to Dr Carter's emergency access at sign-in (Emergency access page);")
	fmt.Println("  the auditor reviews break-glass under Emergency accesses.")
}

// self is how to run this binary again, as the user started it: `go run ./cmd/ehrchain`
// when it was built by go run (into a go-build temporary directory), else the path it was
// started by (./ehrchain, or ehrchain from the PATH).
func self() string {
	if strings.Contains(os.Args[0], "go-build") {
		return "go run ./cmd/ehrchain"
	}
	return os.Args[0]
}

// demoCLI is the start of a command line that reaches the demo node as printed: this
// binary, the demo's home, and --node when the demo serves elsewhere than its config says
// (demo --api).
func demoCLI(g *globals, base string) string {
	cli := self() + " --home " + g.home
	if cfg, err := node.LoadConfig(g.home); err != nil || "http://"+cfg.API != base {
		cli += " --node " + base
	}
	return cli
}
