package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/fhir"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// demoImport imports the Synthea patients as Dr Alice, so the demo holds real records,
// and lets the FHIR gateway act for her. A second run imports nothing twice.
func demoImport(g *globals, cl *client.Client, pass []byte, dataDir string) error {
	files, err := fhir.Files([]string{dataDir})
	if err != nil || len(files) == 0 {
		step("no Synthea bundles in %s: skipping the FHIR import", dataDir)
		return nil
	}
	alice, _, err := demoKeystore(g, pass, "dr-alice")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	step("Dr Alice imports %d Synthea patients (FHIR R4 transaction Bundles): one encrypted record per resource", len(files))
	st, err := runImport(ctx, cl, g.keyring(), alice, pass, keys.DefaultKDF, files, "", g.home, 0, false)
	if st != nil {
		fmt.Printf("    %s\n", st.Summary())
	}
	if err != nil {
		return err
	}
	if fhirGateway != nil {
		fhirGateway.Unlock(alice)
	}
	fmt.Printf("    FHIR R4 at %s%s; for example, as Dr Alice:\n", cl.Base, fhir.Prefix)
	fmt.Printf("      TOKEN=$(ehrchain --home %s --node %s fhir token --as dr-alice)   # asks for the demo passphrase\n", g.home, cl.Base)
	if srcs := slices.Sorted(maps.Keys(st.PatientIDs)); len(srcs) > 0 {
		fmt.Printf("      curl -H \"Authorization: Bearer $TOKEN\" '%s%s/Observation?patient=%s&code=8302-2&_sort=date'   # %s\n",
			cl.Base, fhir.Prefix, st.PatientIDs[srcs[0]], srcs[0])
	}
	return nil
}
