package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/fhir"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/tx"
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
			if err := demoEnableEPCIS(dir, data); err != nil {
				return err
			}
			stop := make(chan error, 1)
			ready := func(n *node.Node, addr string) {
				go func() {
					err := playDemo(g, client.New(addr), pass, data)
					if err == nil {
						err = demoImport(g, client.New(addr), pass, data)
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

// demoKeystore loads a demo identity's keystore, or creates it.
func demoKeystore(g *globals, pass []byte, name string) (*keys.Keystore, bool, error) {
	if data, err := g.keyring().Load(name); err == nil {
		ks, err := keys.Decrypt(data, pass)
		return ks, false, err
	}
	ks, err := keys.NewKeystore(name)
	if err != nil {
		return nil, false, err
	}
	data, err := keys.Encrypt(ks, pass, keys.DefaultKDF)
	if err != nil {
		return nil, false, err
	}
	return ks, true, g.keyring().Save(name, data)
}

func step(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

func playDemo(g *globals, cl *client.Client, pass []byte, dataDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	chainID, err := cl.ChainIDOf(ctx)
	if err != nil {
		return err
	}
	reg, _, err := demoKeystore(g, pass, "registrar")
	if err != nil {
		return err
	}
	cast := map[string]*keys.Keystore{}
	fresh := false
	for _, name := range []string{"dr-alice", "dr-bob", "patient", "auditor"} {
		ks, created, err := demoKeystore(g, pass, name)
		if err != nil {
			return err
		}
		cast[name] = ks
		fresh = fresh || created
	}
	if _, err := cl.Identity(ctx, cast["patient"].ID, false); err == nil && !fresh {
		step("the demo identities already exist on this chain; skipping the story")
		return nil
	}
	alice, bob, pat, aud := cast["dr-alice"], cast["dr-bob"], cast["patient"], cast["auditor"]
	send := func(signer *keys.Keystore, b tx.Body) error { _, err := cl.Send(ctx, signer, b); return err }

	step("the registrar registers St Mary Hospital's Dr Alice, City Clinic's Dr Bob, and an auditor")
	for _, r := range []struct {
		ks        *keys.Keystore
		role      identity.Role
		name, org string
		licence   string
	}{{alice, identity.Provider, "Dr Alice", "St Mary Hospital", "MD-1001"}, {bob, identity.Provider, "Dr Bob", "City Clinic", "MD-2002"},
		{aud, identity.Auditor, "Compliance Office", "", ""}} {
		if err := send(reg, client.RegistrationFor(chainID, r.ks, r.role, r.name, r.org, r.licence)); err != nil {
			return err
		}
		fmt.Printf("    %-9s %-18s %s\n", r.role, r.name, r.ks.ID)
	}
	step("Dr Alice registers her patient, who publishes one encryption key per record category")
	if err := send(alice, client.RegistrationFor(chainID, pat, identity.Patient, "Demo Patient", "", "")); err != nil {
		return err
	}
	if _, err := cl.PublishCategories(ctx, pat, consent.DefaultCategories); err != nil {
		return err
	}
	if err := saveDemo(g, pat, pass); err != nil {
		return err
	}
	fmt.Printf("    patient %s, categories %s\n", pat.ID, strings.Join(consent.DefaultCategories, ", "))

	obs, source := demoObservation(dataDir)
	step("Dr Alice writes an Observation (%s), encrypted on her side: AES-256-GCM + ML-KEM-768/X25519 key wraps", source)
	m, err := cl.PutRecord(ctx, alice, client.NewRecord{Patient: pat.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: obs})
	if err != nil {
		return err
	}
	fmt.Printf("    record %s v%d: %d plaintext bytes -> %d ciphertext bytes, committed at height %d\n", m.RecordID, m.Version, len(obs), m.Size, m.Height)

	step("Dr Bob asks to read it for treatment")
	if _, err := cl.ReadRecord(ctx, bob, pat.ID, m.RecordID, consent.Treatment); err == nil {
		return errors.New("Dr Bob read the record without consent")
	} else {
		fmt.Printf("    denied, and the denial is on the ledger: %v\n", err)
	}
	step("the patient grants Dr Bob read access to 'general' records for treatment, for 30 days")
	gid, err := cl.Grant(ctx, pat, consent.Grant{Grantee: bob.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}, Expiry: time.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	fmt.Printf("    grant %s\n", gid)
	r, err := cl.ReadRecord(ctx, bob, pat.ID, m.RecordID, consent.Treatment)
	if err != nil {
		return err
	}
	fmt.Printf("    Dr Bob decrypts it (access event %d, %s): %s...\n", r.Outcome.Event, r.Outcome.Reason, strings.Join(strings.Fields(string(r.Plaintext[:min(90, len(r.Plaintext))])), " "))
	step("the patient revokes the grant; the 'general' key is rotated")
	if err := cl.Revoke(ctx, pat, gid); err != nil {
		return err
	}
	if err := saveDemo(g, pat, pass); err != nil {
		return err
	}
	if _, err := cl.ReadRecord(ctx, bob, pat.ID, m.RecordID, consent.Treatment); err == nil {
		return errors.New("Dr Bob still reads after revocation")
	} else {
		fmt.Printf("    Dr Bob is denied again: %v\n", err)
	}
	m2, err := cl.PutRecord(ctx, alice, client.NewRecord{Patient: pat.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: obs})
	if err != nil {
		return err
	}
	fmt.Printf("    Dr Alice's next record %s is wrapped for key version %d, which Dr Bob never received\n", m2.RecordID, m2.CategoryVersion)
	if err := demoEmergency(ctx, g, cl, pass, chainID, reg, pat, aud, m2); err != nil {
		return err
	}
	if err := playClaimsDemo(ctx, g, cl, pass, dataDir, chainID, reg, alice, pat); err != nil {
		return err
	}
	if err := playTrialsDemo(ctx, g, cl, pass, chainID, reg, alice, pat, aud); err != nil {
		return err
	}
	if err := playSupplyDemo(ctx, g, cl, pass, dataDir, chainID, reg); err != nil {
		return err
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	step("the ledger now holds %d audit events at height %d (app hash %s...)", st.LogSize, st.Height, st.AppHash[:16])
	fmt.Printf("    demo identities (keystores in %s, passphrase %q): dr-alice, dr-bob, patient, auditor, registrar, dr-carter, escrow-st-mary, escrow-city-clinic, insurer, acme-research, acme-pharma, corner-pharmacy, drug-agency\n", g.keyring().Path, string(pass))
	return nil
}

func saveDemo(g *globals, ks *keys.Keystore, pass []byte) error {
	data, err := keys.Encrypt(ks, pass, keys.DefaultKDF)
	if err != nil {
		return err
	}
	return g.keyring().Replace(ks.Name, data)
}

// demoObservation takes the first Observation of the first Synthea bundle, or a built-in one.
func demoObservation(dir string) ([]byte, string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if json.Unmarshal(b, &bundle) != nil {
			continue
		}
		for _, e := range bundle.Entry {
			var r struct {
				ResourceType string `json:"resourceType"`
			}
			if json.Unmarshal(e.Resource, &r) == nil && r.ResourceType == "Observation" {
				return e.Resource, "from Synthea bundle " + filepath.Base(f)
			}
		}
	}
	return []byte(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"valueQuantity":{"value":72,"unit":"/min"}}`), "built-in example"
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
