package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ehrchain/ehrchain/internal/claims"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// playClaims is the demo's insurance chapter: an insurer publishes a plan and enrolls
// the patient, who consents to payment; Dr Alice records a Synthea Encounter and bills the
// Synthea Claim for it; the contract adjudicates it at commit; the insurer pays.
func playClaims(ctx context.Context, g *Env, cl *client.Client, pass []byte, dataDir, chainID string, reg, alice, pat *keys.Keystore) error {
	ins, _, err := keystore(g, pass, "insurer")
	if err != nil {
		return err
	}
	enc, fc, source := demoClaim(dataDir)
	g.step("the registrar registers an insurer, which publishes its plan (20 %% coinsurance on everything) and enrolls the patient")
	if _, err := cl.Send(ctx, reg, client.RegistrationFor(chainID, ins, identity.Insurer, "Acme Health", "Acme Health", "")); err != nil {
		return err
	}
	if _, err := cl.PublishPlan(ctx, ins, claims.Plan{ID: "basic", Name: "Acme Basic", Effective: "1900-01-01",
		Benefits: []claims.Benefit{{System: claims.Any, Code: claims.Any, CoinsuranceBP: 2000}}}); err != nil {
		return err
	}
	if err := cl.Enroll(ctx, ins, claims.EnrollBody{Patient: pat.ID, Plan: "basic", MemberID: "DEMO-1", Start: "1900-01-01"}); err != nil {
		return err
	}
	g.step("the patient lets the insurer receive claims about 'general' records, for payment only")
	if _, err := cl.Grant(ctx, pat, consent.Grant{Grantee: ins.ID, Scope: consent.Scope{Categories: []string{"general"},
		ResourceTypes: []string{claims.ClaimResourceType}}, Actions: []string{consent.Read}, Purposes: []string{consent.Payment}}); err != nil {
		return err
	}
	if err := saveKeystore(g, pat, pass); err != nil {
		return err
	}
	g.step("Dr Alice records the Encounter and bills its Claim (%s); the contract adjudicates it at commit", source)
	m, err := cl.PutRecord(ctx, alice, client.NewRecord{Patient: pat.ID, Category: "general", ResourceType: "Encounter",
		ContentType: "application/fhir+json", Plaintext: enc})
	if err != nil {
		return err
	}
	c, err := cl.SubmitClaim(ctx, alice, fc.Submission(pat.ID, ins.ID, client.EncounterRef(m)))
	if err != nil {
		return err
	}
	for _, l := range c.Lines {
		fmt.Fprintf(g.Out, "    line %d %-42.42s charged %9s  %-8s insurer %9s  patient %9s\n", l.Seq, l.Display, claims.FormatCents(l.Charge),
			l.Outcome, claims.FormatCents(l.Payer), claims.FormatCents(l.PatientShare()))
	}
	fmt.Fprintf(g.Out, "    claim %s: %s owed by the insurer, %s by the patient\n", c.ID, claims.FormatCents(c.Payable), claims.FormatCents(c.PatientShare))
	if err := cl.RecordPayment(ctx, ins, c.ID, c.Payable, "DEMO-EFT-1"); err != nil {
		return err
	}
	got, err := cl.Claim(ctx, pat, c.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "    the insurer records its payment; the patient sees the claim as %s (%s claim status %s --as patient --format eob)\n", got.Status, g.CLI(cl.Base), c.ID)
	return nil
}

// demoClaim takes the first Synthea Claim with a priced line and the Encounter it bills, or
// a built-in pair.
func demoClaim(dir string) ([]byte, *claims.FHIRClaim, string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		cs, _, err := claims.BundleClaims(raw)
		if err != nil {
			continue
		}
		for _, c := range cs {
			fc, err := claims.ParseFHIRClaim(c)
			if err != nil || len(fc.Lines) < 2 || len(fc.Encounters) == 0 {
				continue
			}
			if enc := bundleResource(raw, strings.TrimPrefix(fc.Encounters[0], "urn:uuid:")); enc != nil {
				return enc, fc, "Synthea claim " + fc.ID + " from " + filepath.Base(f)
			}
		}
	}
	fc := &claims.FHIRClaim{ID: "built-in", Type: "institutional", ServiceDate: "2024-01-15", Lines: []claims.LineInput{
		{Seq: 1, System: "http://snomed.info/sct", Code: "185349003", Display: "Encounter for check up", Quantity: 1, Charge: 12500},
		{Seq: 2, System: "http://hl7.org/fhir/sid/cvx", Code: "140", Display: "Influenza vaccine", Quantity: 1, Charge: 14052}}}
	return []byte(`{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"}}`), fc, "built-in example"
}

func bundleResource(raw []byte, id string) []byte {
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(raw, &b) != nil {
		return nil
	}
	for _, e := range b.Entry {
		var h struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(e.Resource, &h) == nil && h.ID == id {
			return e.Resource
		}
	}
	return nil
}
