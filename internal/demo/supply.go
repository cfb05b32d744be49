package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Schema is GS1's EPCIS 2.0 JSON Schema beside the demo's Synthea data
// (../shared/data/epcis-2.0), as an absolute path, or "" when it is absent.
func Schema(dataDir string) string {
	p, err := filepath.Abs(filepath.Join(filepath.Dir(dataDir), "epcis-2.0", "schema", "EPCIS-JSON-Schema.json"))
	if err != nil {
		return ""
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// EnableEPCIS points the demo node's epcis_schema at the schema when it is present and
// the config names none, so that the node accepts EPCIS capture.
func EnableEPCIS(home, dataDir string) error {
	schema := Schema(dataDir)
	if schema == "" {
		return nil
	}
	path := node.Paths{Home: home}.Config()
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if s, _ := cfg["epcis_schema"].(string); s != "" {
		return nil
	}
	cfg["epcis_schema"] = schema
	raw, err = json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o600)
}

// The demo's GS1 numbers: Acme Pharma's company prefix and GTIN, Corner Pharmacy's GLN
// (valid check digits).
const (
	demoAcmePrefix  = "4012345"
	demoAcmeGLN     = "4012345000009"
	demoPharmacyGLN = "0712345000002"
	demoPharmacy    = "urn:epc:id:pgln:0712345.00000"
	demoGTIN        = "04012345123456"
	demoExpiry      = "2030-06-30"
)

func demoSGTIN(serial string) string { return "urn:epc:id:sgtin:4012345.012345." + serial }

// playSupply is the demo's drug-traceability chapter: trading partners bound by the
// registrar, a pack's way from the factory to a patient in EPCIS 2.0 events, a counterfeit
// carrying a cloned serial caught as a suspect-product event, a lot recall, and packs
// verified against the node's app hash. Without GS1's schema the node refuses capture, so
// the chapter says how to enable it and is skipped.
func playSupply(ctx context.Context, g *Env, cl *client.Client, pass []byte, dataDir, chainID string, reg *keys.Keystore) error {
	if Schema(dataDir) == "" {
		g.step("drug traceability: skipped; it needs GS1's EPCIS 2.0 schema at %s (or set epcis_schema in the node's config)",
			filepath.Join(filepath.Dir(dataDir), "epcis-2.0", "schema", "EPCIS-JSON-Schema.json"))
		return nil
	}
	var ks [3]*keys.Keystore
	for i, name := range []string{"acme-pharma", "corner-pharmacy", "drug-agency"} {
		k, _, err := keystore(g, pass, name)
		if err != nil {
			return err
		}
		ks[i] = k
	}
	acme, pharmacy, agency := ks[0], ks[1], ks[2]
	g.step("drug traceability: the registrar registers Acme Pharma (manufacturer), Corner Pharmacy (dispenser) and the Drug Agency (regulator), and binds their GS1 prefix and locations")
	for _, r := range []struct {
		k    *keys.Keystore
		role identity.Role
		name string
	}{{acme, identity.Manufacturer, "Acme Pharma"}, {pharmacy, identity.Dispenser, "Corner Pharmacy"}, {agency, identity.Regulator, "Drug Agency"}} {
		if _, err := cl.Send(ctx, reg, client.RegistrationFor(chainID, r.k, r.role, r.name, r.name, "")); err != nil {
			return err
		}
	}
	if err := cl.BindPartner(ctx, reg, supply.BindBody{Partner: acme.ID, Prefixes: []string{demoAcmePrefix}, GLNs: []string{demoAcmeGLN}}); err != nil {
		return err
	}
	if err := cl.BindPartner(ctx, reg, supply.BindBody{Partner: pharmacy.ID, GLNs: []string{demoPharmacyGLN}}); err != nil {
		return err
	}

	minute := 0
	base := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute)
	capture := func(who *keys.Keystore, events ...string) (*wire.CaptureResponse, error) {
		var list []string
		for _, e := range events {
			minute++
			list = append(list, fmt.Sprintf(`{%s,"eventTime":"%s","eventTimeZoneOffset":"+00:00"}`, e, base.Add(time.Duration(minute)*time.Minute).Format(time.RFC3339)))
		}
		doc := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",` +
			`"creationDate":"` + base.Format(time.RFC3339) + `","epcisBody":{"eventList":[` + strings.Join(list, ",") + `]}}`
		return cl.Capture(ctx, who, []byte(doc))
	}
	epcs := func(ids ...string) string { return `"` + strings.Join(ids, `","`) + `"` }
	observe := func(bizStep string, ids ...string) string {
		return `"type":"ObjectEvent","action":"OBSERVE","bizStep":"` + bizStep + `","epcList":[` + epcs(ids...) + `]`
	}
	item1, item2, item3 := demoSGTIN("1001"), demoSGTIN("1002"), demoSGTIN("2001")
	case1 := "urn:epc:id:sscc:4012345.0000000001"

	g.step("Acme commissions packs 1001 and 1002 of lot L1 and 2001 of lot L2, packs them in a case and ships it to Corner Pharmacy")
	if _, err := capture(acme,
		`"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","disposition":"active","epcList":[`+epcs(item1, item2)+`],"ilmd":{"cbvmda:lotNumber":"L1","cbvmda:itemExpirationDate":"`+demoExpiry+`"}`,
		`"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","disposition":"active","epcList":[`+epcs(item3)+`],"ilmd":{"cbvmda:lotNumber":"L2","cbvmda:itemExpirationDate":"`+demoExpiry+`"}`,
		`"type":"AggregationEvent","action":"ADD","bizStep":"packing","parentID":"`+case1+`","childEPCs":[`+epcs(item1, item2, item3)+`]`,
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","disposition":"in_transit","epcList":[`+epcs(case1)+`],"destinationList":[{"type":"owning_party","destination":"`+demoPharmacy+`"}]`); err != nil {
		return err
	}
	g.step("Corner Pharmacy receives and unpacks the case, and dispenses pack 1001 to a patient")
	if _, err := capture(pharmacy, observe("receiving", case1),
		`"type":"AggregationEvent","action":"DELETE","bizStep":"unpacking","parentID":"`+case1+`","childEPCs":[]`, observe("dispensing", item1)); err != nil {
		return err
	}
	g.step("a counterfeit pack carrying the cloned serial 1001 reaches the pharmacy counter and is scanned out again")
	res, err := capture(pharmacy, observe("dispensing", item1))
	if err != nil {
		return err
	}
	sus, err := cl.As(agency).Suspects(ctx, 0, 0)
	if err != nil {
		return err
	}
	raised := 0
	for _, ev := range res.Events {
		raised += len(ev.Suspects)
	}
	if raised == 0 || len(sus.Suspects) == 0 {
		return fmt.Errorf("the second dispense of serial 1001 raised no suspect-product event")
	}
	s := sus.Suspects[len(sus.Suspects)-1]
	fmt.Fprintf(g.Out, "    suspect-product event %d: %s: %s; quarantined: %s; the Drug Agency sees it\n", s.Seq, s.Reason, s.Detail, strings.Join(s.Items, ", "))

	g.step("Acme recalls lot L2")
	if _, err := capture(acme, `"type":"ObjectEvent","action":"OBSERVE","bizStep":"holding","disposition":"recalled","epcList":[],"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.L2"}]`); err != nil {
		return err
	}
	g.step("the pharmacist scans two packs; each answer is verified against the node's app hash")
	exp := strings.ReplaceAll(demoExpiry, "-", "")[2:]
	for _, serial := range []string{"1002", "2001"} {
		lot := "L1"
		if serial == "2001" {
			lot = "L2"
		}
		code := "(01)" + demoGTIN + "(21)" + serial + "(10)" + lot + "(17)" + exp
		var v *wire.VerifyResponse
		trusted, err := g.AppHashAt(ctx, cl, func() (int64, error) {
			var err error
			v, err = cl.VerifyCode(ctx, code)
			if err != nil {
				return 0, err
			}
			return v.Height, nil
		})
		if err != nil {
			return err
		}
		if err := v.Verify(trusted); err != nil {
			return fmt.Errorf("the answer for %s does not verify: %w", code, err)
		}
		fmt.Fprintf(g.Out, "    %s -> %s: %s (proofs verified at height %d)\n", code, v.Verdict.Answer, v.Verdict.Detail, v.Height)
	}
	fmt.Fprintf(g.Out, "    (the same from the CLI: %s epcis verify '(01)%s(21)2001(10)L2(17)%s')\n", g.CLI(cl.Base), demoGTIN, exp)
	return nil
}
