package fhir

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// importSetup starts a node, registers the cast and imports bundles as the provider.
func importSetup(t *testing.T, files []string) (*nodetest.Running, nodetest.Cast, *keys.Keystore, *Importer, *ImportStats) {
	t.Helper()
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cast := nodetest.RegisterCast(t, ctx, r.Client, reg)
	im := &Importer{Client: r.Client, Provider: cast.Provider, Keys: keys.Dir{Path: filepath.Join(t.TempDir(), "keys")},
		Passphrase: []byte("import passphrase"), KDF: keys.TestKDF, Journal: filepath.Join(t.TempDir(), "journal")}
	st, err := im.Import(ctx, files)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, st.Summary())
	}
	t.Log(st.Summary())
	return r, cast, reg, im, st
}

func syntheaFiles(t testing.TB) []string {
	files, err := Files([]string{dataDir(t, "synthea-r4")})
	if err != nil || len(files) != 40 {
		t.Fatalf("synthea files: %d, %v", len(files), err)
	}
	return files
}

func TestImportResumes(t *testing.T) {
	files := syntheaFiles(t)[:3]
	_, _, _, im, st := importSetup(t, files)
	if st.Failed != 0 || st.Patients != 3 || st.NewPatients != 3 || st.Imported != st.Resources || st.Skipped != 0 {
		t.Fatalf("first run: %s", st.Summary())
	}
	ctx := context.Background()
	st2, err := im.Import(ctx, files)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Imported != 0 || st2.Skipped != st.Resources || st2.NewPatients != 0 {
		t.Fatalf("second run imported again: %s", st2.Summary())
	}
	for src, id := range st.PatientIDs {
		if st2.PatientIDs[src] != id {
			t.Fatalf("patient %s mapped to %s, then %s", src, id, st2.PatientIDs[src])
		}
	}
	// Without the journal the ledger itself refuses the second copy (records are never
	// overwritten), and the importer says why.
	im.Journal = filepath.Join(t.TempDir(), "other-journal")
	if _, err := im.Import(ctx, files[:1]); err == nil || !strings.Contains(err.Error(), "records/4") || !strings.Contains(err.Error(), "not in the journal") {
		t.Fatalf("re-import without the journal: %v", err)
	}
}

// TestImportPublishesMissingCategoryKeys: a patient already on the ledger with only a
// general key (its keystore holding the others) gets the keys of the categories its
// records need before they are written, and the records land in those categories.
func TestImportPublishesMissingCategoryKeys(t *testing.T) {
	var file string
	for _, f := range syntheaFiles(t) {
		if strings.Contains(f, "Gilberto_Orosco_") {
			file = f
		}
	}
	job, err := parseBundle(file, Sensitivity)
	if err != nil {
		t.Fatal(err)
	}
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cast := nodetest.RegisterCast(t, ctx, r.Client, reg)
	im := &Importer{Client: r.Client, Provider: cast.Provider, Keys: keys.Dir{Path: filepath.Join(t.TempDir(), "keys")},
		Passphrase: []byte("import passphrase"), KDF: keys.TestKDF}
	// The patient's keystore, as a previous run made it; only general is published.
	if err := im.keystore(job); err != nil {
		t.Fatal(err)
	}
	if err := im.save([]*bundleJob{job}, 1); err != nil {
		t.Fatal(err)
	}
	chainID, _ := r.Client.ChainIDOf(ctx)
	if _, err := r.Client.Send(ctx, cast.Provider, client.RegistrationFor(chainID, job.ks, identity.Patient, "patient", "", "")); err != nil {
		t.Fatal(err)
	}
	gk, _ := job.ks.LatestCategoryKey(CatGeneral)
	if _, err := r.Client.Send(ctx, job.ks, &consent.PublishKeysBody{Keys: []consent.CategoryKey{{Category: CatGeneral, Version: gk.Version, EncKey: gk.Priv.PublicKey().Bytes()}}}); err != nil {
		t.Fatal(err)
	}
	st, err := im.Import(ctx, []string{file})
	if err != nil {
		t.Fatalf("import: %v\n%s", err, st.Summary())
	}
	if st.NewPatients != 0 || st.Imported != len(job.entries) || st.Categories[CatMentalHealth] == 0 || st.Categories[CatSubstanceUse] == 0 {
		t.Fatalf("import: %s", st.Summary())
	}
	cks, err := r.Client.CategoryKeys(ctx, job.id)
	if err != nil {
		t.Fatal(err)
	}
	for _, cat := range consent.DefaultCategories {
		i := slices.IndexFunc(cks, func(k consent.CategoryKey) bool { return k.Category == cat })
		if i < 0 || cks[i].Version != 1 {
			t.Fatalf("%s key after the import: %+v", cat, cks)
		}
	}
	// The patient decrypts a mental-health record with the key from its keystore.
	for _, e := range job.entries {
		if e.Category != CatMentalHealth {
			continue
		}
		res, err := r.Client.ReadRecord(ctx, job.ks, job.id, ImportID(job.id, e.Type, e.SourceID), consent.Treatment)
		if err != nil || res.Meta.Category != CatMentalHealth || len(res.Plaintext) == 0 {
			t.Fatalf("the patient reads their %s %s: %v", e.Type, e.SourceID, err)
		}
		break
	}
}
