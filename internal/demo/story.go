// Package demo plays the demo's story on a running node and prints it as it goes: a
// hospital, two providers, a patient and an auditor (registration, an encrypted record, a
// denied read, a grant, a read, a revocation), then break-glass, claims, a clinical trial,
// drug traceability and a Synthea import. It acts only through the client, as any hospital
// system would; cmd/ehrchain's demo command starts the node and wires it in.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/fhir"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Env is what the story plays with: where the demo identities' keystores are, and the
// command-line pieces it borrows (hints to print, the bulk import with its progress bar,
// the app hash a proof is checked against).
type Env struct {
	Keys keys.Dir  // keystores of the demo identities, created on first use
	Home string    // the demo node's home
	Out  io.Writer // where the story is told
	// CLI is the start of a command line reaching the node at base, for printed hints.
	CLI func(base string) string
	// Import imports Synthea bundles as provider prov.
	Import func(ctx context.Context, cl *client.Client, prov *keys.Keystore, pass []byte, files []string) (*fhir.ImportStats, error)
	// AppHashAt is the node's committed app hash at the height fetch answers at.
	AppHashAt func(ctx context.Context, cl *client.Client, fetch func() (int64, error)) ([]byte, error)
	// UnlockFHIR, if set, unlocks a provider's keystore in the node's FHIR gateway.
	UnlockFHIR func(*keys.Keystore)
}

func (g *Env) step(format string, args ...any) { fmt.Fprintf(g.Out, "==> "+format+"\n", args...) }

// keystore loads a demo identity's keystore, or creates it.
func keystore(g *Env, pass []byte, name string) (*keys.Keystore, bool, error) {
	if data, err := g.Keys.Load(name); err == nil {
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
	return ks, true, g.Keys.Save(name, data)
}

// Play tells the story on the node cl reaches, with the demo identities' keystores under
// passphrase pass and Synthea bundles (and GS1's EPCIS schema beside them) in dataDir. A
// chain that already holds the demo identities is left as it is.
func Play(g *Env, cl *client.Client, pass []byte, dataDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	chainID, err := cl.ChainIDOf(ctx)
	if err != nil {
		return err
	}
	reg, _, err := keystore(g, pass, "registrar")
	if err != nil {
		return err
	}
	cast := map[string]*keys.Keystore{}
	fresh := false
	for _, name := range []string{"dr-alice", "dr-bob", "patient", "auditor"} {
		ks, created, err := keystore(g, pass, name)
		if err != nil {
			return err
		}
		cast[name] = ks
		fresh = fresh || created
	}
	if _, err := cl.Identity(ctx, cast["patient"].ID, false); err == nil && !fresh {
		g.step("the demo identities already exist on this chain; skipping the story")
		return nil
	}
	alice, bob, pat, aud := cast["dr-alice"], cast["dr-bob"], cast["patient"], cast["auditor"]
	send := func(signer *keys.Keystore, b tx.Body) error { _, err := cl.Send(ctx, signer, b); return err }

	g.step("the registrar registers St Mary Hospital's Dr Alice, City Clinic's Dr Bob, and an auditor")
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
		fmt.Fprintf(g.Out, "    %-9s %-18s %s\n", r.role, r.name, r.ks.ID)
	}
	g.step("Dr Alice registers her patient, who publishes one encryption key per record category")
	if err := send(alice, client.RegistrationFor(chainID, pat, identity.Patient, "Demo Patient", "", "")); err != nil {
		return err
	}
	if _, err := cl.PublishCategories(ctx, pat, consent.DefaultCategories); err != nil {
		return err
	}
	if err := saveKeystore(g, pat, pass); err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "    patient %s, categories %s\n", pat.ID, strings.Join(consent.DefaultCategories, ", "))

	obs, source := demoObservation(dataDir)
	g.step("Dr Alice writes an Observation (%s), encrypted on her side: AES-256-GCM + ML-KEM-768/X25519 key wraps", source)
	m, err := cl.PutRecord(ctx, alice, client.NewRecord{Patient: pat.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: obs})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "    record %s v%d: %d plaintext bytes -> %d ciphertext bytes, committed at height %d\n", m.RecordID, m.Version, len(obs), m.Size, m.Height)

	g.step("Dr Bob asks to read it for treatment")
	if _, err := cl.ReadRecord(ctx, bob, pat.ID, m.RecordID, consent.Treatment); err == nil {
		return errors.New("Dr Bob read the record without consent")
	} else {
		fmt.Fprintf(g.Out, "    denied, and the denial is on the ledger: %v\n", err)
	}
	g.step("the patient grants Dr Bob read access to 'general' records for treatment, for 30 days")
	gid, err := cl.Grant(ctx, pat, consent.Grant{Grantee: bob.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}, Expiry: time.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "    grant %s\n", gid)
	r, err := cl.ReadRecord(ctx, bob, pat.ID, m.RecordID, consent.Treatment)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "    Dr Bob decrypts it (access event %d, %s): %s...\n", r.Outcome.Event, r.Outcome.Reason, strings.Join(strings.Fields(string(r.Plaintext[:min(90, len(r.Plaintext))])), " "))
	g.step("the patient revokes the grant; the 'general' key is rotated")
	if err := cl.Revoke(ctx, pat, gid); err != nil {
		return err
	}
	if err := saveKeystore(g, pat, pass); err != nil {
		return err
	}
	if _, err := cl.ReadRecord(ctx, bob, pat.ID, m.RecordID, consent.Treatment); err == nil {
		return errors.New("Dr Bob still reads after revocation")
	} else {
		fmt.Fprintf(g.Out, "    Dr Bob is denied again: %v\n", err)
	}
	m2, err := cl.PutRecord(ctx, alice, client.NewRecord{Patient: pat.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: obs})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "    Dr Alice's next record %s is wrapped for key version %d, which Dr Bob never received\n", m2.RecordID, m2.CategoryVersion)
	if err := playEmergency(ctx, g, cl, pass, chainID, reg, pat, aud, m2); err != nil {
		return err
	}
	if err := playClaims(ctx, g, cl, pass, dataDir, chainID, reg, alice, pat); err != nil {
		return err
	}
	if err := playTrials(ctx, g, cl, pass, chainID, reg, alice, pat, aud); err != nil {
		return err
	}
	if err := playSupply(ctx, g, cl, pass, dataDir, chainID, reg); err != nil {
		return err
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	g.step("the ledger now holds %d audit events at height %d (app hash %s...)", st.LogSize, st.Height, st.AppHash[:16])
	fmt.Fprintf(g.Out, "    demo identities (keystores in %s, passphrase %q): dr-alice, dr-bob, patient, auditor, registrar, dr-carter, escrow-st-mary, escrow-city-clinic, insurer, acme-research, acme-pharma, corner-pharmacy, drug-agency\n", g.Keys.Path, string(pass))
	return nil
}

func saveKeystore(g *Env, ks *keys.Keystore, pass []byte) error {
	data, err := keys.Encrypt(ks, pass, keys.DefaultKDF)
	if err != nil {
		return err
	}
	return g.Keys.Replace(ks.Name, data)
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
