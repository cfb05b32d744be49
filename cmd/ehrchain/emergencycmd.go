package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// emergencyCmd is `ehrchain emergency`: break-glass access for patients who cannot consent.
func emergencyCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "emergency", Short: "Break-glass access: key escrow, emergency declarations, custodian releases, review"}
	c.AddCommand(emergencyEnrolCmd(g), emergencyEscrowCmd(g), emergencyOptoutCmd(g), emergencyDeclareCmd(g), emergencyReadCmd(g), emergencyWriteCmd(g), emergencyCustodianCmd(g), emergencyJustifyCmd(g), emergencyReviewCmd(g), emergencyShowCmd(g), emergencyReportCmd(g))
	return c
}

func emergencyEnrolCmd(g *globals) *cobra.Command {
	var regAs, institution string
	var retire bool
	enrol := &cobra.Command{
		Use: "custodian-enrol IDENTITY", Short: "Enrol an identity as an institution's escrow custodian (registrar)", Args: cobra.ExactArgs(1),
		RunE: g.acting(&regAs, func(cmd *cobra.Command, reg *keys.Keystore, args []string) error {
			id, err := g.resolveID(args[0])
			if err != nil {
				return err
			}
			if _, err := g.client().Send(cmd.Context(), reg, &emergency.CustodianBody{Custodian: id, Institution: institution, Retire: retire}); err != nil {
				return err
			}
			fmt.Printf("custodian %s (%s) %s\n", id, institution, map[bool]string{false: "enrolled", true: "retired"}[retire])
			return nil
		}),
	}
	enrol.Flags().StringVar(&regAs, "as", "registrar", "registrar keystore")
	enrol.Flags().StringVar(&institution, "institution", "", "the institution the custodian's node belongs to")
	enrol.Flags().BoolVar(&retire, "retire", false, "retire the custodian instead")
	return enrol
}

func emergencyEscrowCmd(g *globals) *cobra.Command {
	var as, escrowCats, custodians string
	var threshold int
	escrow := &cobra.Command{
		Use: "escrow", Short: "Escrow your current category keys k-of-n across custodian institutions (patient)", Args: cobra.NoArgs,
		RunE: g.acting(&as, func(cmd *cobra.Command, p *keys.Keystore, _ []string) error {
			cats := splitList(escrowCats)
			if err := g.client().Escrow(cmd.Context(), p, cats, threshold, splitList(custodians)); err != nil {
				return err
			}
			fmt.Printf("escrowed %v: any %d custodian institutions can rebuild them for a declared emergency\n", cats, threshold)
			return nil
		}),
	}
	escrow.Flags().StringVar(&as, "as", "", "patient keystore")
	escrow.Flags().StringVar(&escrowCats, "categories", "general", "emergency-visible categories, comma-separated")
	escrow.Flags().IntVar(&threshold, "threshold", 2, "custodians needed to rebuild a key (at least 2)")
	escrow.Flags().StringVar(&custodians, "custodians", "", "custodian ids, comma-separated (default: every active custodian)")
	return escrow
}

func emergencyOptoutCmd(g *globals) *cobra.Command {
	var as, optCats string
	var undo bool
	optout := &cobra.Command{
		Use: "opt-out", Short: "Opt categories out of break-glass, withdrawing their escrow (patient)", Args: cobra.NoArgs,
		RunE: g.acting(&as, func(cmd *cobra.Command, p *keys.Keystore, _ []string) error {
			if err := g.client().OptOut(cmd.Context(), p, splitList(optCats), undo); err != nil {
				return err
			}
			fmt.Printf("%s: %s\n", map[bool]string{false: "opted out of break-glass", true: "opted back in (escrow them again)"}[undo], optCats)
			return nil
		}),
	}
	optout.Flags().StringVar(&as, "as", "", "patient keystore")
	optout.Flags().StringVar(&optCats, "categories", "", "categories, comma-separated")
	optout.Flags().BoolVar(&undo, "undo", false, "opt back in")
	return optout
}

func emergencyDeclareCmd(g *globals) *cobra.Command {
	var as, patient, reason, declCats string
	var window time.Duration
	declare := &cobra.Command{
		Use: "declare", Short: "Declare an emergency for a patient: a loud, audited, time-limited break-glass (provider)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			who, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			id, err := g.client().Declare(cmd.Context(), who, emergency.DeclareBody{Patient: pid, Reason: reason,
				Categories: splitList(declCats), Window: int64(window / time.Second)})
			if err != nil {
				return err
			}
			fmt.Printf("declared %s; custodian nodes release their shares to you; justify it afterwards with `ehrchain emergency justify %s`\n", id, id)
			return nil
		},
	}
	declare.Flags().StringVar(&as, "as", "", "provider keystore")
	declare.Flags().StringVar(&patient, "patient", "", "patient id or keystore name")
	declare.Flags().StringVar(&reason, "reason", "", "why the patient cannot consent and what is needed")
	declare.Flags().StringVar(&declCats, "categories", "", "categories (default: every emergency-visible one)")
	declare.Flags().DurationVar(&window, "window", emergency.DefaultWindow, "how long the break-glass lasts (block time, at most 24h)")
	return declare
}

func emergencyReadCmd(g *globals) *cobra.Command {
	var as, patient, out string
	read := &cobra.Command{
		Use: "read RECORD", Short: "Read a record under your declaration, rebuilding the key from released shares", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			who, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			r, err := g.client().EmergencyRead(cmd.Context(), who, pid, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "%s version %d, %s; break-glass recorded as event %d (%s)\n", r.Meta.RecordID, r.Meta.Version, r.Meta.Category, r.Outcome.Event, r.Outcome.Reason)
			if out == "" || out == "-" {
				_, err = os.Stdout.Write(r.Plaintext)
				return err
			}
			return os.WriteFile(out, r.Plaintext, 0o600)
		},
	}
	read.Flags().StringVar(&as, "as", "", "provider keystore")
	read.Flags().StringVar(&patient, "patient", "", "patient id or keystore name")
	read.Flags().StringVar(&out, "out", "", "write the plaintext here (default stdout)")
	return read
}

func emergencyWriteCmd(g *globals) *cobra.Command {
	var as, patient, writeCat string
	write := &cobra.Command{
		Use: "write FILE", Short: "Write a FHIR JSON record under your active declaration, ahead of routine traffic (provider)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var res struct {
				ResourceType string `json:"resourceType"`
			}
			if json.Unmarshal(data, &res) != nil || res.ResourceType == "" {
				return fmt.Errorf("%s is not a FHIR JSON resource", args[0])
			}
			who, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			m, err := g.client().UrgentWrite(cmd.Context(), who, client.NewRecord{Patient: pid, Category: writeCat,
				ResourceType: res.ResourceType, ContentType: "application/fhir+json", Plaintext: data})
			if err != nil {
				return err
			}
			fmt.Printf("wrote %s version %d (%s, %s) under the emergency declaration at height %d\n", m.RecordID, m.Version, m.ResourceType, m.Category, m.Height)
			return nil
		},
	}
	write.Flags().StringVar(&as, "as", "", "provider keystore")
	write.Flags().StringVar(&patient, "patient", "", "patient id or keystore name")
	write.Flags().StringVar(&writeCat, "category", "general", "record category")
	return write
}

func emergencyCustodianCmd(g *globals) *cobra.Command {
	var as string
	custodian := &cobra.Command{
		Use: "custodian", Short: "Run an institution's custodian: release its shares for every open declaration (until stopped)", Args: cobra.NoArgs,
		RunE: g.acting(&as, func(cmd *cobra.Command, ks *keys.Keystore, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cl := g.client()
			for {
				n, err := cl.ReleaseShares(ctx, ks)
				if n > 0 {
					fmt.Printf("%s released %d share(s)\n", time.Now().UTC().Format(time.RFC3339), n)
				}
				if err != nil && ctx.Err() == nil {
					fmt.Fprintf(os.Stderr, "release: %v\n", err)
				}
				if once, _ := cmd.Flags().GetBool("once"); once {
					return err
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		}),
	}
	custodian.Flags().StringVar(&as, "as", "", "the custodian's keystore (held on the institution's node)")
	custodian.Flags().Bool("once", false, "one pass, then exit")
	return custodian
}

func emergencyJustifyCmd(g *globals) *cobra.Command {
	var as, reason string
	justify := &cobra.Command{
		Use: "justify DECLARATION", Short: "Justify your emergency declaration after the fact (provider)", Args: cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			return g.client().Justify(cmd.Context(), who, args[0], reason)
		}),
	}
	justify.Flags().StringVar(&as, "as", "", "provider keystore")
	justify.Flags().StringVar(&reason, "text", "", "the justification")
	return justify
}

func emergencyReviewCmd(g *globals) *cobra.Command {
	var as, verdict, note string
	review := &cobra.Command{
		Use: "review DECLARATION", Short: "Review a justified emergency declaration (auditor)", Args: cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			return g.client().Review(cmd.Context(), who, args[0], verdict, note)
		}),
	}
	review.Flags().StringVar(&as, "as", "", "auditor keystore")
	review.Flags().StringVar(&verdict, "verdict", "", "appropriate or inappropriate")
	review.Flags().StringVar(&note, "note", "", "the auditor's note")
	return review
}

func emergencyShowCmd(g *globals) *cobra.Command {
	var showAs string
	show := &cobra.Command{
		Use: "show [PATIENT]", Short: "Show a patient's escrows, opt-outs and every declaration made for them (no argument: every declaration you may see)",
		Long: `Show break-glass use. Who broke the glass for whom is answered only to a signed query (--as):
the patient and auditors see everything, a provider its own declarations, an escrow custodian
those that ask for its shares (without the reason). With PATIENT, --as defaults to PATIENT's
keystore.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			signer := showAs
			if signer == "" && len(args) == 1 {
				signer = args[0] // the patient's own keystore
			}
			if signer == "" {
				return fmt.Errorf("give --as NAME: declarations say who opened whose records, so they are answered only to a signed query")
			}
			who, err := g.unlock(signer)
			if err != nil {
				return fmt.Errorf("break-glass use is answered only to a signed query: give --as NAME, a keystore of the patient, a provider, a custodian or an auditor: %w", err)
			}
			cl := g.client().As(who)
			var v any
			if len(args) == 1 {
				var pid string
				if pid, err = g.resolveID(args[0]); err != nil {
					return err
				}
				v, err = cl.PatientEmergency(cmd.Context(), pid)
			} else {
				v, err = cl.Declarations(cmd.Context(), false)
			}
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		},
	}
	show.Flags().StringVar(&showAs, "as", "", "keystore that signs the query (default: PATIENT's)")
	return show
}

func emergencyReportCmd(g *globals) *cobra.Command {
	var as string
	report := &cobra.Command{
		Use: "report", Short: "List every emergency access with its use, justification and review (auditor)", Args: cobra.NoArgs,
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, _ []string) error {
			src := &apiEvents{c: g.client(), who: who}
			evs, err := src.Events(cmd.Context(), time.Time{}, time.Time{})
			if err != nil {
				return err
			}
			acc, denied := auditreport.EmergencyAccesses(evs, src.Names(cmd.Context()))
			return printEmergencies(acc, denied)
		}),
	}
	report.Flags().StringVar(&as, "as", "", "auditor keystore")
	return report
}

func printEmergencies(acc []auditreport.EmergencyAccess, denied []*audit.Event) error {
	fmt.Printf("%d emergency access(es), %d denied break-glass attempt(s)\n", len(acc), len(denied))
	for _, a := range acc {
		fmt.Printf("\n%s  %s  by %s (%s, %s) for %s (%s)\n  reason: %s\n  categories: %s; %d share(s) released by %v; %d read(s), %d urgent write(s)\n  status: %s",
			a.Declaration, a.Time.Format(time.RFC3339), a.ProviderName, a.Provider, a.Organization, a.PatientName, a.Patient,
			a.Reason, a.Categories, a.Releases, a.Custodians, a.Reads, a.Writes, a.Status)
		if a.Justification != "" {
			fmt.Printf("\n  justification: %s", a.Justification)
		}
		if a.Verdict != "" {
			fmt.Printf("\n  review by %s: %s", a.Reviewer, a.Verdict)
		}
		fmt.Println()
	}
	for _, e := range denied {
		fmt.Printf("denied break-glass: event %d %s by %s for %s: %s\n", e.Index, e.Time.Format(time.RFC3339), e.Actor, e.Patient, e.Reason)
	}
	return nil
}
