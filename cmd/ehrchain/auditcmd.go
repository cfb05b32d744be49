package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/wire"
)

func auditCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "Query the audit trail, report on it, and prove events offline"}
	c.AddCommand(auditQueryCmd(g), auditReportCmd(g))
	c.AddCommand(auditProofCmds(g)...)
	return c
}

func auditQueryCmd(g *globals) *cobra.Command {
	var as, patient, actor, from, to string
	var f audit.Filter
	var all, asJSON bool
	c := &cobra.Command{
		Use:   "query",
		Short: "List the audit events your role may see, oldest first",
		Long: `List audit events, oldest first. The query is signed with --as's key; the node answers
only what that identity's role may see: an auditor every event, a patient the events about
them, a provider or insurer its own actions, a registrar identity changes (identity.*).
Asking for more is refused, not narrowed. Events never hold clinical content.

Actions: ` + strings.Join(audit.KnownActions, ", ") + `, or a family such as record.*.
Times: RFC 3339 (2026-01-31T09:00:00Z), a date (2026-01-31, UTC), or a duration meaning
that long ago (24h).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if patient != "" {
				if f.Patient, err = g.resolveID(patient); err != nil {
					return err
				}
			}
			if actor != "" {
				if f.Actor, err = g.resolveID(actor); err != nil {
					return err
				}
			}
			if f.From, err = parseWhen("--from", from); err != nil {
				return err
			}
			if f.To, err = parseWhen("--to", to); err != nil {
				return err
			}
			if err := f.Validate(); err != nil {
				return err
			}
			who, err := g.unlock(as)
			if err != nil {
				return err
			}
			cl := g.client()
			if g.network != "" {
				if f.Patient == "" {
					return fmt.Errorf("--network routes a query about one patient (--patient) to their home shard; without a patient, ask each chain with --node")
				}
				if cl, err = g.patientClient(cmd.Context(), f.Patient); err != nil {
					return err
				}
			}
			out, err := auditPages(cmd.Context(), cl, who, f, all)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			printAuditAnswer(cmd.Context(), cl, who, out)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&as, "as", "", "your keystore (signs the query)")
	fl.StringVar(&patient, "patient", "", "events about this identity (id or keystore name)")
	fl.StringVar(&actor, "actor", "", "events by this identity (id or keystore name)")
	fl.StringVar(&f.Organization, "org", "", "events by members of this organization")
	fl.StringVar(&f.Action, "action", "", "an action (record.read) or a family (record.*)")
	fl.StringVar(&f.Outcome, "outcome", "", "success or denied")
	fl.StringVar(&from, "from", "", "events at or after this time")
	fl.StringVar(&to, "to", "", "events before this time")
	fl.IntVar(&f.Limit, "limit", audit.DefaultLimit, fmt.Sprintf("events per page (at most %d)", audit.MaxLimit))
	fl.StringVar(&f.Cursor, "cursor", "", "continue from this cursor (printed after a full page)")
	fl.BoolVar(&all, "all", false, "follow every page to the end of the log")
	fl.BoolVar(&asJSON, "json", false, "print the answer as JSON")
	c.MarkFlagRequired("as")
	return c
}

// auditPages is one page of the answer to f, or with all every page to the end of the log
// in one answer.
func auditPages(ctx context.Context, cl *client.Client, who *keys.Keystore, f audit.Filter, all bool) (*wire.AuditQueryResponse, error) {
	if !all {
		return cl.AuditQuery(ctx, who, f)
	}
	var out *wire.AuditQueryResponse
	err := cl.AuditQueryAll(ctx, who, f, func(p *wire.AuditQueryResponse) error {
		if out == nil {
			out = p
		} else {
			out.Height, out.LogSize, out.Events = p.Height, p.LogSize, append(out.Events, p.Events...)
		}
		out.Next = p.Next
		return nil
	})
	return out, err
}

// printAuditAnswer prints the events with the names of the identities they involve, and
// on stderr how many there were and how to go on.
func printAuditAnswer(ctx context.Context, cl *client.Client, who *keys.Keystore, out *wire.AuditQueryResponse) {
	names := map[string]string{}
	if ids, err := cl.As(who).Identities(ctx, ""); err == nil {
		for _, i := range ids {
			names[i.ID] = i.Name
		}
	}
	printEvents(out.Events, names)
	fmt.Fprintf(os.Stderr, "shown: %d (height %d, %d events in the log)\n", len(out.Events), out.Height, out.LogSize)
	if out.Next != "" {
		fmt.Fprintf(os.Stderr, "more: add --cursor %s, or --all\n", out.Next)
	}
}

// parseWhen reads an RFC 3339 time, a date, or a duration ago; "" is unbounded.
func parseWhen(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return time.Now().Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: give an RFC 3339 time, a date (2006-01-02) or a duration ago (24h)", flag, s)
}

// printEvents prints a table; identities show as their ledger name when known.
func printEvents(evs []*audit.Event, names map[string]string) {
	who := func(id string) string {
		if n := names[id]; n != "" {
			return n
		}
		if len(id) > 12 {
			return id[:12] + "…"
		}
		return id
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tTIME\tHEIGHT\tACTION\tOUTCOME\tACTOR (ROLE)\tPATIENT/SUBJECT\tRECORD\tPURPOSE\tGRANT\tREASON")
	for _, e := range evs {
		actor := who(e.Actor)
		if e.ActorRole != "" {
			actor += " (" + e.ActorRole + ")"
		}
		record := e.Record
		if record != "" && e.Version > 0 {
			record += " v" + strconv.FormatUint(uint64(e.Version), 10)
		}
		about := ""
		if a := e.About(); a != "" {
			about = who(a)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Index, e.Time.UTC().Format(time.RFC3339), e.Height,
			e.Action, e.Outcome, actor, dash(about), dash(record), dash(e.Purpose), dash(e.Grant), dash(e.Reason))
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
