package demo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/fhir"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// Import imports the Synthea patients as Dr Alice, so the demo holds real records,
// and lets the FHIR gateway act for her. A second run imports nothing twice.
func Import(g *Env, cl *client.Client, pass []byte, dataDir string) error {
	files, err := fhir.Files([]string{dataDir})
	if err != nil || len(files) == 0 {
		g.step("no Synthea bundles in %s: skipping the FHIR import", dataDir)
		return nil
	}
	alice, _, err := keystore(g, pass, "dr-alice")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	g.step("Dr Alice imports %d Synthea patients (FHIR R4 transaction Bundles): one encrypted record per resource", len(files))
	st, err := g.Import(ctx, cl, alice, pass, files)
	if st != nil {
		fmt.Fprintf(g.Out, "    %s\n", st.Summary())
	}
	if err != nil {
		return err
	}
	if st.Imported > 0 {
		if err := demoSensitive(ctx, g, cl, pass, files, st); err != nil {
			return err
		}
	}
	if g.UnlockFHIR != nil {
		g.UnlockFHIR(alice)
	}
	fmt.Fprintf(g.Out, "    FHIR R4 at %s%s; for example, as Dr Alice:\n", cl.Base, fhir.Prefix)
	fmt.Fprintf(g.Out, "      TOKEN=$(EHRCHAIN_PASSPHRASE=%s %s fhir token --as dr-alice)   # the bearer token the gateway gives for Dr Alice's signed assertion\n", pass, g.CLI(cl.Base))
	if srcs := slices.Sorted(maps.Keys(st.PatientIDs)); len(srcs) > 0 {
		fmt.Fprintf(g.Out, "      curl -H \"Authorization: Bearer $TOKEN\" '%s%s/Observation?patient=%s&code=8302-2&_sort=date'   # %s\n",
			cl.Base, fhir.Prefix, st.PatientIDs[srcs[0]], srcs[0])
	}
	return nil
}

// demoSensitive shows the sensitivity policy on the first imported patient with a
// mental-health record: the patient grants Dr Bob "general", and he reads a general
// encounter but not the mental-health record.
func demoSensitive(ctx context.Context, g *Env, cl *client.Client, pass []byte, files []string, st *fhir.ImportStats) error {
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		b, err := fhir.Parse(raw)
		if err != nil {
			continue
		}
		es, err := fhir.BundleEntries(b)
		if err != nil {
			continue
		}
		p, err := fhir.PatientEntry(es)
		if err != nil || st.PatientIDs[p.SourceID] == "" {
			continue
		}
		var gen, psy *fhir.Entry
		var why fhir.Classification
		for _, e := range es {
			switch c := fhir.Sensitivity.Classify(e.Resource); {
			case gen == nil && e.Type == "Encounter" && c.Category == fhir.CatGeneral:
				gen = e
			case psy == nil && c.Category == fhir.CatMentalHealth:
				psy, why = e, c
			}
		}
		if gen == nil || psy == nil {
			continue
		}
		pid := st.PatientIDs[p.SourceID]
		data, err := g.Keys.Load(fhir.PatientKeystoreName(p.SourceID))
		if err != nil {
			return err
		}
		pat, err := keys.Decrypt(data, pass)
		if err != nil {
			return err
		}
		bob, _, err := keystore(g, pass, "dr-bob")
		if err != nil {
			return err
		}
		g.step("sensitive categories: the import put %s's %s in %s; the patient grants Dr Bob only 'general'",
			filepath.Base(file), psy.Type, why)
		if _, err := cl.Grant(ctx, pat, consent.Grant{Grantee: bob.ID, Scope: consent.Scope{Categories: []string{fhir.CatGeneral}},
			Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}, Expiry: time.Now().Add(30 * 24 * time.Hour)}); err != nil {
			return err
		}
		if _, err := cl.ReadRecord(ctx, bob, pid, fhir.ImportID(pid, gen.Type, gen.SourceID), consent.Treatment); err != nil {
			return fmt.Errorf("Dr Bob cannot read a general encounter under a general grant: %w", err)
		}
		fmt.Fprintf(g.Out, "    Dr Bob reads a general Encounter of this patient\n")
		if _, err := cl.ReadRecord(ctx, bob, pid, fhir.ImportID(pid, psy.Type, psy.SourceID), consent.Treatment); err == nil {
			return errors.New("Dr Bob read a mental-health record under a general grant")
		} else {
			fmt.Fprintf(g.Out, "    the %s is denied, and the denial is on the ledger: %v\n", psy.Type, err)
		}
		return nil
	}
	return nil
}
