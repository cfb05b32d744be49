package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// trialCmd is `trial`: register, approve, amend, enrol, post results, and read the public
// record of clinical trials (docs/TRIALS.md).
func trialCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "trial", Short: "Clinical-trial transparency: register a trial, IRB decisions, amendments, enrolment, results; show and list the public record, the verified transparency report"}
	c.AddCommand(trialRegisterCmd(g), trialApproveCmd(g), trialAmendCmd(g), trialConsentFormCmd(g), trialEnrolCmd(g),
		trialReconsentCmd(g), trialWithdrawCmd(g), trialRecordCmd(g), trialExportCmd(g), trialEnrolmentsCmd(g),
		trialResultsCmd(g), trialShowCmd(g), trialListCmd(g), trialReportCmd(g), trialVerifyReportCmd())
	return c
}

// readProtocolFile reads a JSON file, letting its research_study be the ResearchStudy
// object itself (stored byte for byte as written in the file) rather than base64.
func readProtocolFile(path string, into any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return fmt.Errorf("%s: not a JSON object: %v", path, err)
	}
	inline := func(m map[string]json.RawMessage) error {
		if rs, ok := m["research_study"]; ok && bytes.HasPrefix(bytes.TrimSpace(rs), []byte("{")) {
			b, err := json.Marshal([]byte(bytes.TrimSpace(rs)))
			if err != nil {
				return err
			}
			m["research_study"] = b
		}
		return nil
	}
	if p, ok := top["protocol"]; ok {
		var pm map[string]json.RawMessage
		if err := json.Unmarshal(p, &pm); err != nil {
			return fmt.Errorf("%s: protocol is not a JSON object: %v", path, err)
		}
		if err := inline(pm); err != nil {
			return err
		}
		if top["protocol"], err = json.Marshal(pm); err != nil {
			return err
		}
	} else if err := inline(top); err != nil {
		return err
	}
	b, err := json.Marshal(top)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(into); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// resolveSites lets a protocol name its site investigators by local keystore name.
func (g *globals) resolveSites(p *trials.Protocol) error {
	for i := range p.Sites {
		id, err := g.resolveID(p.Sites[i].Investigator)
		if err != nil {
			return fmt.Errorf("site %q investigator: %w", p.Sites[i].Name, err)
		}
		p.Sites[i].Investigator = id
	}
	return nil
}

func defaultSign(s *trials.Sign, reason string) {
	if s.Meaning == "" {
		s.Meaning = trials.Author
	}
	if reason != "" {
		s.Reason = reason
	}
}

func trialRegisterCmd(g *globals) *cobra.Command {
	var as, reason string
	c := &cobra.Command{
		Use:   "register FILE --as SPONSOR",
		Short: "Register a trial: FILE holds the registration body (trial, irb, protocol, sign)",
		Long: "FILE is JSON: {\"trial\": ID, \"irb\": AUDITOR, \"protocol\": {...}, \"sign\": {\"reason\": ...}}. The IRB and\n" +
			"each site's investigator may be identity ids or local keystore names; research_study may be the\n" +
			"ResearchStudy object itself. The signature means author.",
		Args: cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			var b trials.RegisterBody
			if err := readProtocolFile(args[0], &b); err != nil {
				return err
			}
			var err error
			if b.IRB, err = g.resolveID(b.IRB); err != nil {
				return fmt.Errorf("irb: %w", err)
			}
			if err := g.resolveSites(&b.Protocol); err != nil {
				return err
			}
			defaultSign(&b.Sign, reason)
			res, err := g.client().Send(cmd.Context(), who, &b)
			if err != nil {
				return err
			}
			fmt.Printf("registered trial %s (protocol version 1) at height %d, tx %s\n", b.Trial, res.Height, res.Hash)
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "the sponsor's keystore (a provider)")
	c.Flags().StringVar(&reason, "reason", "", "the signature's reason (overrides the file's sign.reason)")
	return c
}

func trialApproveCmd(g *globals) *cobra.Command {
	var as, meaning, reason string
	var version uint32
	c := &cobra.Command{
		Use:   "approve ID --as IRB --version N --meaning approval|review --reason TEXT",
		Short: "Record the trial IRB's signed decision on the protocol version in force",
		Args:  cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			if version == 0 {
				return fmt.Errorf("give --version N: the protocol version decided on")
			}
			b := &trials.ApproveBody{Trial: args[0], Version: version, Sign: trials.Sign{Meaning: trials.Meaning(meaning), Reason: reason}}
			res, err := g.client().Send(cmd.Context(), who, b)
			if err != nil {
				return err
			}
			fmt.Printf("%s of trial %s version %d recorded at height %d, tx %s\n", meaning, args[0], version, res.Height, res.Hash)
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "the trial's IRB keystore (the auditor named at registration)")
	c.Flags().Uint32Var(&version, "version", 0, "the protocol version decided on (the version in force)")
	c.Flags().StringVar(&meaning, "meaning", string(trials.Approval), "approval (enrolment may proceed) or review (recorded, approves nothing)")
	c.Flags().StringVar(&reason, "reason", "", "why; required")
	return c
}

func trialAmendCmd(g *globals) *cobra.Command {
	var as, reason string
	c := &cobra.Command{
		Use:   "amend ID FILE --as SPONSOR --reason TEXT",
		Short: "Amend a trial's protocol: FILE restates the whole protocol (or a registration body holding it); every earlier version stays",
		Args:  cobra.ExactArgs(2),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			var p trials.Protocol
			if err := readAmendFile(args[1], &p); err != nil {
				return err
			}
			if err := g.resolveSites(&p); err != nil {
				return err
			}
			b := &trials.AmendBody{Trial: args[0], Protocol: p, Sign: trials.Sign{Meaning: trials.Author, Reason: reason}}
			res, err := g.client().Send(cmd.Context(), who, b)
			if err != nil {
				return err
			}
			t, err := g.client().Trial(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			v := t.Versions[len(t.Versions)-1]
			fmt.Printf("trial %s protocol version %d at height %d, tx %s; changes: %s\n", args[0], v.Number, res.Height, res.Hash, strings.Join(v.Changes, ", "))
			if v.OutcomeSwitch {
				fmt.Println("OUTCOME SWITCH: the primary outcomes changed after enrolment started; this is recorded on the trial")
			}
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "the sponsor's keystore")
	c.Flags().StringVar(&reason, "reason", "", "why the protocol changes; required")
	return c
}

// readAmendFile reads a protocol, or the protocol of a registration body.
func readAmendFile(path string, p *trials.Protocol) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return fmt.Errorf("%s: not a JSON object: %v", path, err)
	}
	if _, ok := top["protocol"]; ok {
		var b trials.RegisterBody
		if err := readProtocolFile(path, &b); err != nil {
			return err
		}
		*p = b.Protocol
		return nil
	}
	return readProtocolFile(path, p)
}

func trialEnrolCmd(g *globals) *cobra.Command {
	var as, patient, arm, site string
	var form uint32
	c := &cobra.Command{
		Use:   "enrol ID --as INVESTIGATOR --patient P --arm A --site S --consent-form N",
		Short: "Enrol a participant at your site into an arm of an approved protocol, with the consent-form version they signed",
		Args:  cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			if patient == "" {
				return fmt.Errorf("give --patient: the participant's identity id or keystore name")
			}
			if form == 0 {
				return fmt.Errorf("give --consent-form N: the consent-form version the participant signed")
			}
			pid, err := g.resolveID(patient)
			if err != nil {
				return err
			}
			res, err := g.client().Send(cmd.Context(), who, &trials.EnrolBody{Trial: args[0], Participant: pid, Site: site, Arm: arm, ConsentForm: form})
			if err != nil {
				return err
			}
			fmt.Printf("enrolled %s in trial %s (site %q, arm %q, consent form %d) at height %d, tx %s\n", pid, args[0], site, arm, form, res.Height, res.Hash)
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "the site investigator's keystore")
	c.Flags().StringVar(&patient, "patient", "", "the participant (identity id or keystore name)")
	c.Flags().StringVar(&arm, "arm", "", "the arm")
	c.Flags().StringVar(&site, "site", "", "the site you lead")
	c.Flags().Uint32Var(&form, "consent-form", 0, "the consent-form version the participant signed (the one in force)")
	return c
}

func trialResultsCmd(g *globals) *cobra.Command {
	var as, reason string
	c := &cobra.Command{
		Use:   "results ID FILE --as SPONSOR",
		Short: "Post results: FILE holds {\"outcomes\": [{measure, time_frame, primary, result}], \"dataset_sha256\": ...}",
		Args:  cobra.ExactArgs(2),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			var b trials.ResultsBody
			if err := readProtocolFile(args[1], &b); err != nil {
				return err
			}
			if b.Trial != "" && b.Trial != args[0] {
				return fmt.Errorf("%s is for trial %s, not %s", args[1], b.Trial, args[0])
			}
			b.Trial = args[0]
			defaultSign(&b.Sign, reason)
			res, err := g.client().Send(cmd.Context(), who, &b)
			if err != nil {
				return err
			}
			t, err := g.client().Trial(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			p := t.Postings[len(t.Postings)-1]
			fmt.Printf("results %d of trial %s posted at height %d, tx %s; %d discrepancies with version %d\n", p.Number, args[0], res.Height, res.Hash, len(p.Discrepancies), p.ComparedWith)
			printDiscrepancies(p)
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "the sponsor's keystore")
	c.Flags().StringVar(&reason, "reason", "", "the signature's reason (overrides the file's sign.reason)")
	return c
}

func printDiscrepancies(p *trials.Posting) {
	for _, d := range p.Discrepancies {
		line := fmt.Sprintf("    DISCREPANCY %s: %s", d.Kind, d.Measure)
		if d.Specified != "" || d.Reported != "" {
			line += fmt.Sprintf(" (pre-specified %q, reported %q)", d.Specified, d.Reported)
		}
		fmt.Println(line)
	}
}

func trialShowCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Show a trial's public record: every protocol version with its changes, IRB decisions, results with discrepancies",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := g.client().Trial(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(t)
			}
			printTrial(t)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON answer")
	return c
}

func printTrial(t *wire.TrialResponse) {
	s := t.Summary
	fmt.Printf("trial %s  %q  status %s  (at height %d, block time %s)\n", s.ID, s.Title, s.Status, t.Height, t.BlockTime.UTC().Format("2006-01-02T15:04:05Z"))
	fmt.Printf("  sponsor %s, IRB %s, registered at height %d\n", s.Sponsor, s.IRB, s.RegisteredAt)
	fmt.Printf("  version in force %d, approved: %v; enrolled %d; outcome switches %d; results posted: %v; discrepancies %d\n",
		s.Version, s.Approved, s.Enrolled, s.OutcomeSwitches, s.ResultsPosted, s.Discrepancies)
	fmt.Printf("  primary completion %s, results due by %s, overdue: %v\n", s.PrimaryCompletion, s.ResultsDue, s.Overdue)
	for _, v := range t.Versions {
		fmt.Printf("  protocol version %d at height %d by %s (%s): %s\n", v.Number, v.Signature.Height, v.Signature.Name, v.Signature.Meaning, v.Signature.Reason)
		if len(v.Changes) > 0 {
			fmt.Printf("    changes: %s\n", strings.Join(v.Changes, ", "))
		}
		if v.OutcomeSwitch {
			fmt.Println("    OUTCOME SWITCH: primary outcomes changed after enrolment started")
		}
		for _, o := range v.Outcomes.Primary {
			fmt.Printf("    primary: %s (%s)\n", o.Measure, o.TimeFrame)
		}
		for _, o := range v.Outcomes.Secondary {
			fmt.Printf("    secondary: %s (%s)\n", o.Measure, o.TimeFrame)
		}
	}
	for _, d := range t.Decisions {
		fmt.Printf("  IRB decision %d on version %d at height %d: %s by %s: %s\n", d.Number, d.Version, d.Signature.Height, d.Signature.Meaning, d.Signature.Name, d.Signature.Reason)
	}
	if t.Trial != nil {
		fmt.Printf("  withdrawn %d; observations recorded %d; dataset exports %d\n", t.Trial.Withdrawn, t.Trial.Observations, t.Trial.Exports)
	}
	for _, f := range t.ConsentForms {
		fmt.Printf("  consent form version %d at height %d by %s: sha256 %s, categories %s\n", f.Number, f.Signature.Height, f.Signature.Name, f.Digest, strings.Join(f.Categories, ","))
	}
	for _, x := range t.Exports {
		fmt.Printf("  dataset export %d at height %d as of height %d: %d participants, %d records, sha256 %s\n", x.Number, x.Signature.Height, x.AsOf, x.Participants, x.Records, x.Digest)
	}
	for _, p := range t.Postings {
		late := ""
		if p.Late {
			late = ", LATE"
		}
		fmt.Printf("  results %d at height %d, compared with version %d%s: %d outcomes, %d discrepancies\n", p.Number, p.Signature.Height, p.ComparedWith, late, len(p.Outcomes), len(p.Discrepancies))
		switch {
		case p.DatasetExport != 0:
			fmt.Printf("    analysis dataset %s: dataset export %d\n", p.Dataset, p.DatasetExport)
		case p.Dataset != "":
			fmt.Printf("    analysis dataset %s: MATCHES NO EXPORT EVENT\n", p.Dataset)
		}
		printDiscrepancies(p)
	}
}

func trialListCmd(g *globals) *cobra.Command {
	var overdue, asJSON bool
	c := &cobra.Command{
		Use:   "list [--overdue]",
		Short: "List every registered trial's public summary (--overdue: only those whose results are overdue at the last block time)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := g.client().Trials(cmd.Context(), overdue)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(ts)
			}
			fmt.Printf("%d trials at height %d\n", len(ts.Trials), ts.Height)
			for _, s := range ts.Trials {
				fmt.Printf("%s  %q  version %d approved=%v enrolled=%d outcome_switches=%d results=%v discrepancies=%d overdue=%v\n",
					s.ID, s.Title, s.Version, s.Approved, s.Enrolled, s.OutcomeSwitches, s.ResultsPosted, s.Discrepancies, s.Overdue)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&overdue, "overdue", false, "only trials whose results are overdue")
	c.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON answer")
	return c
}
