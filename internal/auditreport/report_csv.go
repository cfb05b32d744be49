package auditreport

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteCSV writes the accounting as one row per disclosure, with a header row.
func (a *Accounting) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"date", "event", "height", "recipient_id", "recipient_name", "recipient_role", "recipient_organization",
		"action", "record", "version", "category", "resource_type", "purpose", "grant", "basis"})
	for _, d := range a.Disclosures {
		cw.Write(csvCells(d.Time.Format(time.RFC3339Nano), csvUint(d.Event), strconv.FormatInt(d.Height, 10), d.Recipient.ID,
			d.Recipient.Name, d.Recipient.Role, d.Recipient.Organization, d.Action, d.Record, versionText(d.Version), d.Category,
			d.ResourceType, d.Purpose, d.Grant, d.Basis))
	}
	cw.Flush()
	return cw.Error()
}

// WriteCSV writes the compliance report's event table: one row per event of the period, in
// log order, with the anomaly rules each event triggered.
func (c *Compliance) WriteCSV(w io.Writer) error {
	flagged := map[uint64][]string{}
	for _, an := range c.Anomalies {
		for _, i := range an.Events {
			if fl := flagged[i]; len(fl) == 0 || fl[len(fl)-1] != an.Rule {
				flagged[i] = append(fl, an.Rule)
			}
		}
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"event", "time", "height", "tx", "action", "outcome", "actor", "actor_name", "actor_role", "organization",
		"subject", "patient", "record", "version", "category", "resource_type", "purpose", "grant", "reason", "anomalies"})
	for _, e := range c.events {
		cw.Write(csvCells(csvUint(e.Index), e.Time.UTC().Format(time.RFC3339Nano), strconv.FormatInt(e.Height, 10), e.Tx, e.Action,
			e.Outcome, e.Actor, c.Names[e.Actor], e.ActorRole, e.Organization, e.Subject, e.Patient, e.Record, versionText(e.Version),
			e.Category, e.ResourceType, e.Purpose, e.Grant, e.Reason, strings.Join(flagged[e.Index], " ")))
	}
	cw.Flush()
	return cw.Error()
}

func csvUint(v uint64) string { return strconv.FormatUint(v, 10) }

func versionText(v uint32) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(v), 10)
}

// csvCells neutralises text a spreadsheet would run as a formula (CSV injection): names and
// organizations are chosen by users. A leading apostrophe makes it plain text.
func csvCells(vs ...string) []string {
	for i, v := range vs {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			vs[i] = "'" + v
		}
	}
	return vs
}
