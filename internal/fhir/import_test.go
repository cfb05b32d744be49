package fhir

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
