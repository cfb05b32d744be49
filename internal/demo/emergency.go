package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
)

// playEmergency is the demo's break-glass act: two institutions' custodians, the patient's
// escrow and opt-out, an ER physician denied, declaring, reading once both custodians
// released, justifying; the auditor reviews.
func playEmergency(ctx context.Context, g *Env, cl *client.Client, pass []byte, chainID string, reg, pat, aud *keys.Keystore, m *records.Meta) error {
	var ks [3]*keys.Keystore
	for i, name := range []string{"escrow-st-mary", "escrow-city-clinic", "dr-carter"} {
		k, _, err := keystore(g, pass, name)
		if err != nil {
			return err
		}
		ks[i] = k
	}
	esc1, esc2, er := ks[0], ks[1], ks[2]
	g.step("break-glass: the registrar enrols the escrow custodians of St Mary Hospital and City Clinic, and County General's ER physician Dr Carter")
	for _, r := range []struct {
		k         *keys.Keystore
		name, org string
	}{{esc1, "St Mary escrow", "St Mary Hospital"}, {esc2, "City Clinic escrow", "City Clinic"}, {er, "Dr Carter", "County General"}} {
		if _, err := cl.Send(ctx, reg, client.RegistrationFor(chainID, r.k, identity.Provider, r.name, r.org, "EM-"+r.k.ID[:6])); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		k   *keys.Keystore
		org string
	}{{esc1, "St Mary Hospital"}, {esc2, "City Clinic"}} {
		if err := cl.EnrolCustodian(ctx, reg, c.k.ID, c.org); err != nil {
			return err
		}
	}
	g.step("the patient escrows the 'general' key 2-of-2 with the custodians and opts 'hiv' and 'mental-health' out of break-glass")
	if err := cl.Escrow(ctx, pat, []string{"general"}, 2, nil); err != nil {
		return err
	}
	if err := cl.OptOut(ctx, pat, []string{"hiv", "mental-health"}, false); err != nil {
		return err
	}
	g.step("the patient arrives unconscious; Dr Carter asks to read record %s for emergency treatment", m.RecordID)
	if _, err := cl.EmergencyRead(ctx, er, pat.ID, m.RecordID); !errors.Is(err, client.ErrDenied) {
		return fmt.Errorf("a break-glass read without a declaration was not denied: %v", err)
	} else {
		fmt.Fprintf(g.Out, "    denied, and recorded: %v\n", err)
	}
	decl, err := cl.Declare(ctx, er, emergency.DeclareBody{Patient: pat.ID, Reason: "unconscious after a road accident; allergies and medication unknown"})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "    Dr Carter declares emergency %s (purpose ETREAT, 4 hours of block time); the patient sees it on the ledger\n", decl)
	for _, c := range []*keys.Keystore{esc1, esc2} {
		n, err := cl.ReleaseShares(ctx, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Out, "    custodian %s releases %d key share(s), sealed to Dr Carter only\n", c.Name, n)
	}
	r, err := cl.EmergencyRead(ctx, er, pat.ID, m.RecordID)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Out, "    Dr Carter rebuilds the key from 2 shares and decrypts it (access event %d: %s)\n", r.Outcome.Event, r.Outcome.Reason)
	if err := cl.Justify(ctx, er, decl, "GCS 6 on arrival; needed current medication before anaesthesia"); err != nil {
		return err
	}
	if err := cl.Review(ctx, aud, decl, emergency.Appropriate, "trauma call documented"); err != nil {
		return err
	}
	pe, err := cl.As(pat).PatientEmergency(ctx, pat.ID)
	if err != nil {
		return err
	}
	d := pe.Declarations[len(pe.Declarations)-1]
	fmt.Fprintf(g.Out, "    justified at height %d, reviewed %q by the auditor; shares released: %d; still emergency-visible: %v (opted out: %v)\n",
		d.Justification.Height, d.Review.Verdict, len(d.Releases), pe.Visible, pe.OptedOut)
	return nil
}
