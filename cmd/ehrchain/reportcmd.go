package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // --time-zone works on machines without a zoneinfo database

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// eventSource is where a report's events come from: every event whose block time falls in
// [from, to) that the requester may see (a zero bound is unbounded), in log order.
type eventSource interface {
	Events(ctx context.Context, from, to time.Time) ([]*audit.Event, error)
}

// nameSource optionally gives display names of identities for a report.
type nameSource interface {
	Names(ctx context.Context) map[string]string
}

// openSource makes the event source of a report for keystore as; patient, when set, is the
// patient the report is about.
type openSource func(as, patient string) (eventSource, error)

// auditEvents is the event source of `audit report`: the node's signed audit query API
// (POST /v1/audit/query), every page, signed by who. A patient set narrows the query to the
// events about that patient, which is all a patient may ask for (an auditor may ask for
// anything).
func (g *globals) auditEvents(who *keys.Keystore, patient string) eventSource {
	return &apiEvents{c: g.client(), who: who, patient: patient}
}

type apiEvents struct {
	c       *client.Client
	who     *keys.Keystore
	patient string
}

func (s *apiEvents) Events(ctx context.Context, from, to time.Time) ([]*audit.Event, error) {
	var out []*audit.Event
	f := audit.Filter{Patient: s.patient, From: from, To: to, Limit: audit.MaxLimit}
	err := s.c.AuditQueryAll(ctx, s.who, f, func(p *wire.AuditQueryResponse) error {
		out = append(out, p.Events...)
		return nil
	})
	return out, err
}

func (s *apiEvents) Names(ctx context.Context) map[string]string {
	names := map[string]string{}
	if ids, err := s.c.As(s.who).Identities(ctx, ""); err == nil {
		for _, i := range ids {
			names[i.ID] = i.Name
		}
	}
	return names
}

// auditReportCmd is `ehrchain audit report`.
func auditReportCmd(g *globals) *cobra.Command {
	return newReportCmd(g, func(as, patient string) (eventSource, error) {
		who, err := g.unlock(as)
		if err != nil {
			return nil, err
		}
		return g.auditEvents(who, patient), nil
	})
}

// reportOptions is what one `audit report` run asks for.
type reportOptions struct {
	patient    string // disclosures of this patient (an identity id) ...
	compliance bool   // ... or the compliance report
	from, to   time.Time
	format     string
	rules      auditreport.Rules
	now        time.Time
}

func newReportCmd(g *globals, open openSource) *cobra.Command {
	f := reportFlags{rules: auditreport.DefaultRules()}
	rules := &f.rules
	c := &cobra.Command{
		Use:   "report",
		Short: "Write an accounting of disclosures for a patient, or a compliance report, as JSON, CSV, HTML or a FHIR Bundle",
		Long: `Write one of two reports from the ledger's audit events:

  --patient ID|NAME   an accounting of disclosures: every read or list of the patient's
                      records by someone other than the patient that the ledger allowed
                      (date, recipient, what, purpose, grant). Default and longest
                      period: six years.
  --compliance        activity volumes (by action, outcome, day and actor), anomalies with
                      the events that triggered them, grants issued and revoked, identities
                      added and removed. Default period: 30 days; at most a year.

The events are fetched with a signed audit query as --as: an auditor may report on anyone,
a patient on their own disclosures. Formats: json, csv (disclosures, or the compliance
report's event table), html (one self-contained page with charts), fhir (an R4 Bundle of
AuditEvent resources).

Times: RFC 3339 (2026-01-31T09:00:00Z) or a date (2026-01-31, UTC). A date given to --to
includes that whole day.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(g)
			if err != nil {
				return err
			}
			src, err := open(f.as, o.patient)
			if err != nil {
				return err
			}
			return writeReportTo(cmd, src, o, f.out)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.as, "as", "", "your keystore (signs the audit queries): an auditor, or the patient for their own disclosures")
	fl.StringVar(&f.patient, "patient", "", "accounting of disclosures for this patient (id or keystore name)")
	fl.BoolVar(&f.compliance, "compliance", false, "system-wide compliance report")
	fl.StringVar(&f.from, "from", "", "start of the period (default: six years before --to for disclosures, 30 days for compliance; at most six years and one year)")
	fl.StringVar(&f.to, "to", "", "end of the period, excluded (default: now)")
	fl.StringVar(&f.format, "format", "json", "json, csv, html or fhir")
	fl.StringVarP(&f.out, "out", "o", "", "write the report to this file (default stdout)")
	fl.IntVar(&rules.RepeatedDenials, "repeated-denials", rules.RepeatedDenials, "anomaly: this many denials of one actor ...")
	fl.DurationVar(&rules.DenialWindow, "denial-window", rules.DenialWindow, "... within this window")
	fl.IntVar(&rules.ManyPatients, "many-patients", rules.ManyPatients, "anomaly: this many distinct patients touched by one actor ...")
	fl.DurationVar(&rules.PatientWindow, "patient-window", rules.PatientWindow, "... within this window")
	fl.StringVar(&f.hours, "work-hours", fmt.Sprintf("%d-%d", rules.WorkStart, rules.WorkEnd), "working hours START-END (local hours; 22-6 wraps midnight; 0-0 disables the rule)")
	fl.StringVar(&f.zone, "time-zone", "UTC", "time zone of working hours and of days in the compliance report (IANA name, e.g. Europe/Paris)")
	c.MarkFlagRequired("as")
	return c
}

// reportFlags are the flags of `audit report` as given.
type reportFlags struct {
	as, patient, from, to, format, out, hours, zone string
	compliance                                      bool
	rules                                           auditreport.Rules
}

// options checks the flags and turns them into what the report asks for.
func (f *reportFlags) options(g *globals) (reportOptions, error) {
	o := reportOptions{compliance: f.compliance, format: f.format, rules: f.rules, now: time.Now().UTC()}
	if (f.patient == "") == !f.compliance {
		return o, fmt.Errorf("give either --patient (accounting of disclosures) or --compliance")
	}
	if !auditreport.ValidFormat(f.format) {
		return o, fmt.Errorf("--format %q: use one of %s", f.format, strings.Join(auditreport.Formats, ", "))
	}
	var err error
	if o.from, err = parseReportTime("--from", f.from, false); err != nil {
		return o, err
	}
	if o.to, err = parseReportTime("--to", f.to, true); err != nil {
		return o, err
	}
	if o.rules.WorkStart, o.rules.WorkEnd, err = parseHours(f.hours); err != nil {
		return o, err
	}
	if o.rules.Location, err = time.LoadLocation(f.zone); err != nil {
		return o, fmt.Errorf("--time-zone %q: %w", f.zone, err)
	}
	if err := o.rules.Validate(); err != nil {
		return o, err
	}
	if f.patient != "" {
		if o.patient, err = g.resolveID(f.patient); err != nil {
			return o, err
		}
	}
	return o, nil
}

// writeReportTo writes the report to stdout, or to the file out (readable by its owner
// only: audit metadata is not for everyone).
func writeReportTo(cmd *cobra.Command, src eventSource, o reportOptions, out string) error {
	if out == "" || out == "-" {
		return writeReport(cmd.Context(), src, o, cmd.OutOrStdout())
	}
	file, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := writeReport(cmd.Context(), src, o, file); err != nil {
		file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
	return nil
}

// writeReport fetches the events and writes the report o asks for, over the period the
// report policy (auditreport.ResolvePeriod) gives.
func writeReport(ctx context.Context, src eventSource, o reportOptions, w io.Writer) error {
	kind := auditreport.KindDisclosures
	if o.compliance {
		kind = auditreport.KindCompliance
	}
	per, err := auditreport.ResolvePeriod(kind, o.from, o.to, o.now)
	if err != nil {
		return err
	}
	from, to := per.From, per.To
	events, err := src.Events(ctx, per.FetchFrom, to)
	if err != nil {
		return err
	}
	var names map[string]string
	if ns, ok := src.(nameSource); ok {
		names = ns.Names(ctx)
	}
	var r auditreport.Report
	if o.compliance {
		c := auditreport.ComplianceReport(events, from, to, o.rules)
		c.Generated = o.now
		c.SetNames(names)
		r = c
	} else {
		a := auditreport.AccountingOfDisclosures(events, o.patient, from, to)
		a.Generated = o.now
		a.SetNames(names)
		r = a
	}
	return auditreport.Write(w, r, o.format)
}

// parseReportTime reads the bound of a report period given to flag.
func parseReportTime(flag, s string, end bool) (time.Time, error) {
	t, err := auditreport.ParseBound(s, end)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %w", flag, err)
	}
	return t, nil
}

// parseHours reads working hours "START-END".
func parseHours(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	start, err1 := strconv.Atoi(strings.TrimSpace(a))
	end, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || start < 0 || start > 23 || end < 0 || end > 24 {
		return 0, 0, fmt.Errorf("--work-hours %q: give START-END in whole hours, such as 7-19 or 22-6", s)
	}
	return start, end, nil
}
