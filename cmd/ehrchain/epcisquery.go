package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// maxQueryPages bounds how many pages one epcis query command follows.
const maxQueryPages = 1000

func epcisQueryCmd(g *globals) *cobra.Command {
	var as, from, to, appHash string
	var perPage int
	var asJSON, proof bool
	var types, epcs, anyEPCs, steps, disps, locs, extra []string
	c := &cobra.Command{
		Use:   "query",
		Short: "Query EPCIS events (GS1's query parameters), following every page",
		Long: "One event a line in ledger order: its Event Hash ID, type, business step and event time. Each flag\n" +
			"is one of GS1's query parameters, repeatable (any value matches); --param NAME=VALUE passes another\n" +
			"(MATCH_parentID, MATCH_inputEPC, MATCH_outputEPC, EQ_action, EQ_readPoint). The query is signed:\n" +
			"a trading partner is answered the events it captured and those of items in its custody, a regulator\n" +
			"all. --json prints each page's EPCISQueryDocument, one a line. MATCH_ values may be EPC patterns\n" +
			"(urn:epc:idpat:sgtin:0614141.107346.*, urn:epc:idpat:sscc:0614141.*) or a GTIN's Digital Link.\n\n" +
			"--proof asks for each event with the proof of its state value, and verifies every page offline\n" +
			"against --app-hash, or else the node's committed app hash at the page's height (then --json prints\n" +
			"each proven page).",
		Args: cobra.NoArgs,
	}
	c.RunE = g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, _ []string) error {
		params := url.Values{}
		for name, vals := range map[string][]string{"eventType": types, "MATCH_epc": epcs, "MATCH_anyEPC": anyEPCs,
			"EQ_bizStep": steps, "EQ_disposition": disps, "EQ_bizLocation": locs} {
			for _, v := range vals {
				params.Add(name, v)
			}
		}
		for _, p := range extra {
			name, v, ok := strings.Cut(p, "=")
			if !ok || name == "" {
				return fmt.Errorf("--param %q: give NAME=VALUE, e.g. EQ_readPoint=urn:epc:id:sgln:4012345.00000.0", p)
			}
			params.Add(name, v)
		}
		if from != "" {
			params.Set("GE_eventTime", from)
		}
		if to != "" {
			params.Set("LT_eventTime", to)
		}
		if perPage > 0 {
			params.Set("perPage", fmt.Sprint(perPage))
		}
		if proof {
			return provenQuery(cmd.Context(), cmd.OutOrStdout(), g.client(), who, params, appHash, asJSON)
		}
		cl := g.client().As(who)
		out := cmd.OutOrStdout()
		doc, next, err := cl.QueryEvents(cmd.Context(), params)
		for pages := 1; ; pages++ {
			if err != nil {
				return err
			}
			b, err := json.Marshal(doc)
			if err != nil {
				return err
			}
			if asJSON {
				fmt.Fprintf(out, "%s\n", b)
			} else {
				// Identified as the ledger identifies them (an event may carry another eventID).
				evs, err := epcis.HashDocument(b)
				if err != nil {
					return fmt.Errorf("the node's answer does not hash: %w", err)
				}
				for _, ev := range evs {
					fmt.Fprintf(out, "%s %s %s %s\n", ev.HashID, ev.Type, orDash(ev.Text("bizStep")), ev.Text("eventTime"))
				}
			}
			if next == "" {
				return nil
			}
			if pages == maxQueryPages {
				return fmt.Errorf("stopped after %d pages; go on from %s", pages, next)
			}
			doc, next, err = cl.QueryEventsPage(cmd.Context(), next)
		}
	})
	f := c.Flags()
	f.StringVar(&as, "as", "", "your keystore (a trading partner or a regulator)")
	f.StringArrayVar(&types, "eventType", nil, "eventType: ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent")
	f.StringArrayVar(&epcs, "epc", nil, "MATCH_epc: an EPC URI or GS1 Digital Link in epcList or childEPCs")
	f.StringArrayVar(&anyEPCs, "anyEPC", nil, "MATCH_anyEPC: also parentID, inputEPCList and outputEPCList")
	f.StringArrayVar(&steps, "bizStep", nil, "EQ_bizStep: a CBV business step (shipping) or its URI")
	f.StringArrayVar(&disps, "disposition", nil, "EQ_disposition: a CBV disposition (in_transit) or its URI")
	f.StringArrayVar(&locs, "bizLocation", nil, "EQ_bizLocation: an SGLN URI or GS1 Digital Link")
	f.StringVar(&from, "from", "", "GE_eventTime: events at or after this time (2026-01-02T03:04:05Z)")
	f.StringVar(&to, "to", "", "LT_eventTime: events before this time")
	f.IntVar(&perPage, "perPage", 0, "events a page (default: the node's, 30)")
	f.StringArrayVar(&extra, "param", nil, "another query parameter, NAME=VALUE")
	f.BoolVar(&asJSON, "json", false, "print each page's EPCISQueryDocument")
	f.BoolVar(&proof, "proof", false, "ask for proofs and verify each page against the app hash")
	f.StringVar(&appHash, "app-hash", "", "with --proof, the app hash to verify against (hex); default: the node's at each page's height")
	c.MarkFlagRequired("as")
	return c
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// provenQuery follows every page of a query with proofs, verifying each offline against
// appHash (or the node's at the page's height) and the query, and prints one event a
// line as the plain query does, then what was verified.
func provenQuery(ctx context.Context, out io.Writer, cl *client.Client, who *keys.Keystore, params url.Values, appHash string, asJSON bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	events := 0
	for pages := 1; ; pages++ {
		var res *wire.ProvenQueryResponse
		trusted, err := trustedAppHash(ctx, cl, appHash, func() (int64, error) {
			var err error
			res, err = cl.As(who).QueryEventsProven(ctx, params)
			if err != nil {
				return 0, err
			}
			return res.Height, nil
		})
		if err != nil {
			return err
		}
		if err := res.Verify(trusted, params); err != nil {
			return fmt.Errorf("page %d does not verify against app hash %X: %w", pages, trusted, err)
		}
		if asJSON {
			b, err := json.Marshal(res)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%s\n", b)
		} else {
			for _, e := range res.Events {
				var ev struct{ BizStep, EventTime string }
				json.Unmarshal(e.Event.Event, &ev)
				fmt.Fprintf(out, "%s %s %s %s\n", e.HashID, e.Event.Type, orDash(ev.BizStep), ev.EventTime)
			}
		}
		events += len(res.Events)
		if res.Next == "" {
			if !asJSON {
				fmt.Fprintf(out, "verified: %d events in %d pages, the last at height %d against app hash %X\n", events, pages, res.Height, trusted)
			}
			return nil
		}
		if pages == maxQueryPages {
			return fmt.Errorf("stopped after %d pages; go on from nextPageToken=%s", pages, res.Next)
		}
		params.Set("nextPageToken", res.Next)
	}
}
