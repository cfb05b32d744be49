package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/claims"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
)

// planCmd publishes and shows coverage plans.
func planCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "plan", Short: "Publish and show insurers' coverage plans (on-chain rules)"}
	var as, insurer string
	pub := &cobra.Command{
		Use: "publish FILE", Short: "Publish a plan (JSON) or its next version, as an insurer", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var p claims.Plan
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				return fmt.Errorf("%s is not a plan: %w", args[0], err)
			}
			who, err := g.unlock(as)
			if err != nil {
				return err
			}
			stored, err := g.client().PublishPlan(cmd.Context(), who, p)
			if err != nil {
				return err
			}
			fmt.Printf("published plan %s version %d (effective %s, %d rules) at height %d\n", stored.ID, stored.Version, stored.Effective, len(stored.Benefits), stored.PublishedAt)
			return nil
		},
	}
	pub.Flags().StringVar(&as, "as", "", "insurer keystore")
	c.AddCommand(pub)

	var version uint32
	show := &cobra.Command{
		Use: "show [PLAN]", Short: "Show a plan's versions as JSON (without PLAN: list the insurer's plans)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ins, err := g.resolveID(insurer)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				ps, err := g.client().Plans(cmd.Context(), ins)
				if err != nil {
					return err
				}
				for _, p := range ps {
					fmt.Printf("%s\tversion %d\t%s\n", p.ID, p.Version, p.Name)
				}
				return nil
			}
			vs, err := g.client().Plan(cmd.Context(), ins, args[0])
			if err != nil {
				return err
			}
			if version > 0 {
				if int(version) > len(vs) {
					return fmt.Errorf("plan %s has %d versions", args[0], len(vs))
				}
				return printJSON(vs[version-1])
			}
			return printJSON(vs)
		},
	}
	show.Flags().StringVar(&insurer, "insurer", "", "insurer id or keystore name")
	show.Flags().Uint32Var(&version, "version", 0, "show only this version")
	c.AddCommand(show)
	return c
}

// coverageCmd enrolls patients in plans and ends coverage.
func coverageCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "coverage", Short: "Record which plan covers a patient, and when"}
	var as, patient, plan, member, start, end string
	enroll := &cobra.Command{
		Use: "enroll", Short: "Enroll a patient in one of your plans, as the insurer", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			who, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			if err := g.client().Enroll(cmd.Context(), who, claims.EnrollBody{Patient: pid, Plan: plan, MemberID: member,
				Start: claims.Date(start), End: claims.Date(end)}); err != nil {
				return err
			}
			fmt.Printf("enrolled %s in plan %s as member %s from %s\n", pid, plan, member, start)
			return nil
		},
	}
	endC := &cobra.Command{
		Use: "end", Short: "Set the last covered day of a coverage, as the insurer", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			who, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			if err := g.client().EndCoverage(cmd.Context(), who, claims.EndCoverageBody{Patient: pid, Start: claims.Date(start), End: claims.Date(end)}); err != nil {
				return err
			}
			fmt.Printf("coverage of %s starting %s ends %s\n", pid, start, end)
			return nil
		},
	}
	show := &cobra.Command{
		Use: "show", Short: "Show a patient's coverage (as the patient, or an insurer for its members)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			who, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			a, err := g.client().ClaimsQuery(cmd.Context(), who, claims.QueryCoverage, pid)
			if err != nil {
				return err
			}
			for _, cv := range a.Coverages {
				fmt.Printf("insurer %s\tplan %s\tmember %s\t%s to %s\n", cv.Insurer, cv.Plan, cv.MemberID, cv.Start, orOpen(cv.End))
			}
			return nil
		},
	}
	for _, cc := range []*cobra.Command{enroll, endC, show} {
		cc.Flags().StringVar(&as, "as", "", "your keystore")
		cc.Flags().StringVar(&patient, "patient", "", "patient id or keystore name")
		c.AddCommand(cc)
	}
	enroll.Flags().StringVar(&plan, "plan", "", "plan id")
	enroll.Flags().StringVar(&member, "member", "", "member id")
	for _, cc := range []*cobra.Command{enroll, endC} {
		cc.Flags().StringVar(&start, "start", "", "first covered day, YYYY-MM-DD")
		cc.Flags().StringVar(&end, "end", "", "last covered day, YYYY-MM-DD (enroll: empty means open-ended)")
	}
	return c
}

func orOpen(d claims.Date) string {
	if d == "" {
		return "open"
	}
	return string(d)
}

// claimCmd submits claims and follows them through adjudication, payment and appeal.
func claimCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "claim", Short: "Submit insurance claims (adjudicated on chain) and follow their status"}
	c.AddCommand(claimSubmitCmd(g), claimStatusCmd(g), claimListCmd(g), claimPayCmd(g), claimAppealCmd(g), claimDecideAppealCmd(g))
	return c
}

const claimFormats = "text, json, claimresponse (FHIR) or eob (FHIR ExplanationOfBenefit)"

func claimSubmitCmd(g *globals) *cobra.Command {
	var as, patient, insurer, encounter, claimID, date, format string
	var lines, auths []string
	submit := &cobra.Command{
		Use:   "submit [FHIR-FILE]",
		Short: "Submit a claim for an encounter record you wrote: from a FHIR Claim (or a Synthea bundle with --claim) or --line flags",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			who, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			ins, err := g.resolveID(insurer)
			if err != nil {
				return err
			}
			cl := g.client()
			enc, err := encounterRef(encounter, func(rec string) ([]*records.Meta, error) {
				return cl.History(cmd.Context(), who, pid, rec, consent.Payment)
			})
			if err != nil {
				return err
			}
			var body claims.SubmitBody
			switch {
			case len(args) == 1:
				data, err := os.ReadFile(args[0])
				if err != nil {
					return err
				}
				fc, err := claims.FindFHIRClaim(data, claimID)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				body = fc.Submission(pid, ins, enc)
			case len(lines) > 0:
				body = claims.SubmitBody{Patient: pid, Insurer: ins, Encounter: enc, ServiceDate: claims.Date(date)}
				for i, l := range lines {
					li, err := claims.ParseLine(i+1, l)
					if err != nil {
						return fmt.Errorf("--line %w", err)
					}
					body.Lines = append(body.Lines, li)
				}
			default:
				return fmt.Errorf("give a FHIR Claim file or --line SYSTEM|CODE|AMOUNT[|QUANTITY]")
			}
			if date != "" {
				body.ServiceDate = claims.Date(date)
			}
			body.PriorAuths = append(body.PriorAuths, auths...)
			got, err := cl.SubmitClaim(cmd.Context(), who, body)
			if err != nil {
				return err
			}
			return printClaim(got, format)
		},
	}
	submit.Flags().StringVar(&as, "as", "", "provider keystore")
	submit.Flags().StringVar(&patient, "patient", "", "patient id or keystore name")
	submit.Flags().StringVar(&insurer, "insurer", "", "insurer id or keystore name")
	submit.Flags().StringVar(&encounter, "encounter", "", "encounter record id, optionally @VERSION (default: its newest version)")
	submit.Flags().StringVar(&claimID, "claim", "", "id of the Claim to take from a FHIR Bundle")
	submit.Flags().StringVar(&date, "date", "", "date of service YYYY-MM-DD (default: the FHIR Claim's billablePeriod.start)")
	submit.Flags().StringArrayVar(&lines, "line", nil, "a service line SYSTEM|CODE|AMOUNT[|QUANTITY], e.g. http://snomed.info/sct|185349003|125.00 (repeatable)")
	submit.Flags().StringArrayVar(&auths, "prior-auth", nil, "prior authorization id the claim relies on (repeatable)")
	submit.Flags().StringVar(&format, "format", "text", claimFormats)
	return submit
}

func claimStatusCmd(g *globals) *cobra.Command {
	var as, format string
	status := &cobra.Command{
		Use: "status CLAIM", Short: "Show a claim you are a party to: its adjudication, payments and appeals", Args: cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			got, err := g.client().Claim(cmd.Context(), who, args[0])
			if err != nil {
				return err
			}
			return printClaim(got, format)
		}),
	}
	status.Flags().StringVar(&as, "as", "", "your keystore (the claim's provider, patient or insurer)")
	status.Flags().StringVar(&format, "format", "text", claimFormats)
	return status
}

func claimListCmd(g *globals) *cobra.Command {
	var as string
	list := &cobra.Command{
		Use: "list", Short: "List the claims and prior authorizations you are a party to", Args: cobra.NoArgs,
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, _ []string) error {
			a, err := g.client().ClaimsQuery(cmd.Context(), who, claims.QueryList, "")
			if err != nil {
				return err
			}
			for _, cl := range a.Claims {
				fmt.Printf("%s\t%s\t%-14s\tcharged %s\tpayable %s\tpaid %s\tpatient %s\n", cl.ID, cl.ServiceDate, cl.Status,
					claims.FormatCents(cl.Submitted), claims.FormatCents(cl.Payable), claims.FormatCents(cl.Paid), cl.Patient)
			}
			for _, pa := range a.Auths {
				fmt.Printf("%s\t%s to %s\t%-14s\t%s|%s used %d of %d\tpatient %s\n", pa.ID, pa.From, pa.To, pa.Status, pa.System, pa.Code, pa.Used, pa.Quantity, pa.Patient)
			}
			return nil
		}),
	}
	list.Flags().StringVar(&as, "as", "", "your keystore")
	return list
}

func claimPayCmd(g *globals) *cobra.Command {
	var as, amount, ref string
	pay := &cobra.Command{
		Use: "pay CLAIM", Short: "Record a payment against a claim, as its insurer", Args: cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			cl := g.client()
			cents := int64(0)
			if amount == "" {
				got, err := cl.Claim(cmd.Context(), who, args[0])
				if err != nil {
					return err
				}
				cents = got.Payable - got.Paid
			} else {
				c, err := claims.ParseCents(amount)
				if err != nil {
					return err
				}
				cents = c
			}
			if err := cl.RecordPayment(cmd.Context(), who, args[0], cents, ref); err != nil {
				return err
			}
			fmt.Printf("recorded payment of %s on %s (ref %s)\n", claims.FormatCents(cents), args[0], ref)
			return nil
		}),
	}
	pay.Flags().StringVar(&as, "as", "", "insurer keystore")
	pay.Flags().StringVar(&amount, "amount", "", "amount, e.g. 217.42 (default: everything still owed)")
	pay.Flags().StringVar(&ref, "ref", "", "remittance or transfer reference")
	return pay
}

func claimAppealCmd(g *globals) *cobra.Command {
	var as, reason string
	var line int
	appeal := &cobra.Command{
		Use: "appeal CLAIM", Short: "Appeal a denied or partly approved line (as the claim's provider or patient)", Args: cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			if err := g.client().Appeal(cmd.Context(), who, args[0], line, reason); err != nil {
				return err
			}
			fmt.Printf("appealed line %d of %s\n", line, args[0])
			return nil
		}),
	}
	appeal.Flags().StringVar(&as, "as", "", "your keystore")
	appeal.Flags().IntVar(&line, "line", 0, "line sequence number")
	appeal.Flags().StringVar(&reason, "reason", "", "why the line should be paid")
	return appeal
}

func claimDecideAppealCmd(g *globals) *cobra.Command {
	var as, amount, note string
	var line int
	var overturn bool
	decide := &cobra.Command{
		Use: "decide-appeal CLAIM", Short: "Uphold a line's denial, or overturn it with --overturn --allowed AMOUNT (as the insurer)", Args: cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			b := claims.AppealDecisionBody{Claim: args[0], Line: line, Overturn: overturn, Note: note}
			if overturn {
				allowed, err := claims.ParseCents(amount)
				if err != nil {
					return fmt.Errorf("--allowed: %w", err)
				}
				b.Allowed = allowed
			}
			if err := g.client().DecideAppeal(cmd.Context(), who, b); err != nil {
				return err
			}
			got, err := g.client().Claim(cmd.Context(), who, args[0])
			if err != nil {
				return err
			}
			return printClaim(got, "text")
		}),
	}
	decide.Flags().StringVar(&as, "as", "", "insurer keystore")
	decide.Flags().IntVar(&line, "line", 0, "line sequence number")
	decide.Flags().BoolVar(&overturn, "overturn", false, "overturn the denial and re-adjudicate the line")
	decide.Flags().StringVar(&amount, "allowed", "", "allowed amount of the re-adjudicated line, e.g. 90.00")
	decide.Flags().StringVar(&note, "note", "", "decision note")
	return decide
}

// priorAuthCmd requests and decides prior authorizations.
func priorAuthCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "priorauth", Short: "Request and decide prior authorizations"}
	var as, patient, insurer, category, system, code, from, to, note string
	var qty int
	var approve, deny bool
	req := &cobra.Command{
		Use: "request", Short: "Ask an insurer to authorize a service in advance (as a provider)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			who, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			ins, err := g.resolveID(insurer)
			if err != nil {
				return err
			}
			id, err := g.client().RequestPriorAuth(cmd.Context(), who, claims.AuthRequestBody{Patient: pid, Insurer: ins, Category: category,
				System: system, Code: code, From: claims.Date(from), To: claims.Date(to), Quantity: qty, Note: note})
			if err != nil {
				return err
			}
			fmt.Println(id)
			return nil
		},
	}
	req.Flags().StringVar(&as, "as", "", "provider keystore")
	req.Flags().StringVar(&patient, "patient", "", "patient id or keystore name")
	req.Flags().StringVar(&insurer, "insurer", "", "insurer id or keystore name")
	req.Flags().StringVar(&category, "category", "general", "record category the request discloses (the patient's payment consent must cover it)")
	req.Flags().StringVar(&system, "system", "http://snomed.info/sct", "code system of the service")
	req.Flags().StringVar(&code, "code", "", "service code")
	req.Flags().StringVar(&from, "from", "", "first day of service, YYYY-MM-DD")
	req.Flags().StringVar(&to, "to", "", "last day of service, YYYY-MM-DD")
	req.Flags().IntVar(&qty, "quantity", 1, "number of services authorized")
	req.Flags().StringVar(&note, "note", "", "clinical justification")
	c.AddCommand(req)

	dec := &cobra.Command{
		Use: "decide ID", Short: "Approve (--approve) or deny (--deny) a pending request (as the insurer)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if approve == deny {
				return fmt.Errorf("give exactly one of --approve or --deny")
			}
			who, err := g.unlock(as)
			if err != nil {
				return err
			}
			if err := g.client().DecidePriorAuth(cmd.Context(), who, args[0], approve, note); err != nil {
				return err
			}
			fmt.Printf("%s %s\n", args[0], map[bool]string{true: "approved", false: "denied"}[approve])
			return nil
		},
	}
	dec.Flags().StringVar(&as, "as", "", "insurer keystore")
	dec.Flags().BoolVar(&approve, "approve", false, "approve")
	dec.Flags().BoolVar(&deny, "deny", false, "deny")
	dec.Flags().StringVar(&note, "note", "", "decision note")
	c.AddCommand(dec)

	show := &cobra.Command{
		Use: "show ID", Short: "Show a prior authorization you are a party to", Args: cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			pa, err := g.client().PriorAuth(cmd.Context(), who, args[0])
			if err != nil {
				return err
			}
			return printJSON(pa)
		}),
	}
	show.Flags().StringVar(&as, "as", "", "your keystore")
	c.AddCommand(show)
	return c
}

// encounterRef resolves "RECORD[@VERSION]" to a reference with the record's digest, read
// from the record's history (an audited access by its author).
func encounterRef(spec string, history func(string) ([]*records.Meta, error)) (claims.EncounterRef, error) {
	if spec == "" {
		return claims.EncounterRef{}, fmt.Errorf("--encounter is required: the id of the Encounter record the claim bills")
	}
	rec, ver, hasVer := strings.Cut(spec, "@")
	ms, err := history(rec)
	if err != nil {
		return claims.EncounterRef{}, err
	}
	if len(ms) == 0 {
		return claims.EncounterRef{}, fmt.Errorf("record %s has no versions", rec)
	}
	m := ms[len(ms)-1]
	if hasVer {
		v, err := strconv.ParseUint(ver, 10, 32)
		if err != nil || v == 0 || int(v) > len(ms) {
			return claims.EncounterRef{}, fmt.Errorf("record %s has versions 1 to %d, not %q", rec, len(ms), ver)
		}
		m = ms[v-1]
	}
	return client.EncounterRef(m), nil
}

func printClaim(c *claims.Claim, format string) error {
	switch format {
	case "json":
		return printJSON(c)
	case "claimresponse":
		return printJSON(c.ClaimResponse())
	case "eob":
		return printJSON(c.ExplanationOfBenefit())
	case "text":
	default:
		return fmt.Errorf("--format %q: use text, json, claimresponse or eob", format)
	}
	plan := "none"
	if c.Plan != "" {
		plan = fmt.Sprintf("%s v%d (member %s)", c.Plan, c.PlanVersion, c.MemberID)
	}
	fmt.Printf("claim %s\tstatus %s\tdate of service %s\tplan %s\n", c.ID, c.Status, c.ServiceDate, plan)
	fmt.Printf("charged %s\tpayable %s\tpatient share %s\tpaid %s\n", claims.FormatCents(c.Submitted), claims.FormatCents(c.Payable),
		claims.FormatCents(c.PatientShare), claims.FormatCents(c.Paid))
	for _, l := range c.Lines {
		var rs []string
		for _, r := range l.Reasons {
			rs = append(rs, r.Code+" "+r.Text)
		}
		fmt.Printf("  line %d\t%s|%s\t%-8s\tcharged %s\tallowed %s\tpatient %s\tpayer %s\t%s\n", l.Seq, l.System, l.Code, l.Outcome,
			claims.FormatCents(l.Charge), claims.FormatCents(l.Allowed), claims.FormatCents(l.PatientShare()), claims.FormatCents(l.Payer), strings.Join(rs, "; "))
		if a := l.Appeal; a != nil {
			fmt.Printf("    appeal by %s: %s (%s)\n", a.By, a.Reason, a.Status)
		}
	}
	for _, p := range c.Payments {
		fmt.Printf("  paid %s ref %s at height %d\n", claims.FormatCents(p.Amount), p.Reference, p.Height)
	}
	return nil
}
