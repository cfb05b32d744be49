package portal

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/signin"
	"github.com/ehrchain/ehrchain/internal/wire"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// reportSlack is how far past the portal's clock a period without an end reaches, so
// events of a block whose time is a little ahead of this node's clock are not left out.
const reportSlack = time.Minute

// allEvents fetches every event before to with signed audit queries (an auditor sees all).
func (p *Portal) allEvents(ctx context.Context, who *keys.Keystore, f audit.Filter) ([]*audit.Event, error) {
	var out []*audit.Event
	f.Limit = audit.MaxLimit
	err := p.cl.AuditQueryAll(ctx, who, f, func(pg *wire.AuditQueryResponse) error {
		out = append(out, pg.Events...)
		return nil
	})
	return out, err
}

type anomalyView struct {
	auditreport.Anomaly
	ActorName string
	Events    []*audit.Event
}

type auditorView struct {
	C         *auditreport.Compliance
	Activity  template.HTML
	ByAction  template.HTML
	Anomalies []anomalyView
	Recent    []*audit.Event
	SignIns   []signin.Event
	LogBroken int // first line of the sign-in log whose hash link is wrong; 0 if intact
	Failed    int
	Names     map[string]string
	Patients  []patientRow
}

func (p *Portal) auditorHome(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	now := time.Now().UTC()
	// The dashboard is the default compliance report: the last 30 days.
	per, err := auditreport.ResolvePeriod(auditreport.KindCompliance, time.Time{}, now.Add(reportSlack), now)
	if err != nil {
		p.fail(w, r, s, http.StatusInternalServerError, "%v", err)
		return
	}
	evs, err := p.allEvents(ctx, s.ks, audit.Filter{From: per.FetchFrom, To: per.To})
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot query the audit trail: %s", errText(err))
		return
	}
	names := p.names(ctx, s.ks)
	c := auditreport.ComplianceReport(evs, per.From, per.To, auditreport.DefaultRules())
	c.SetNames(names)
	v := auditorView{C: c, Names: names}
	v.Activity = barChart("chart-activity", "Ledger events over time", []string{"allowed", "denied"}, activityBars(c.PeriodEvents()))
	var bars []bar
	for _, a := range c.ByAction {
		bars = append(bars, bar{Label: a.Key, Values: []int{a.Count}})
	}
	v.ByAction = hbarChart("chart-actions", "Events by action", bars)
	for _, a := range c.Anomalies {
		av := anomalyView{Anomaly: a, ActorName: names[a.Actor]}
		for _, i := range a.Events {
			if e := c.Event(i); e != nil {
				av.Events = append(av.Events, e)
			}
		}
		v.Anomalies = append(v.Anomalies, av)
	}
	slices.Reverse(v.Anomalies)
	for i := len(evs) - 1; i >= 0 && len(v.Recent) < 25; i-- {
		v.Recent = append(v.Recent, evs[i])
	}
	if v.SignIns, v.LogBroken, err = p.si.Recent(40); err != nil {
		p.fail(w, r, s, http.StatusInternalServerError, "Cannot read the sign-in log: %v", err)
		return
	}
	for _, e := range v.SignIns {
		if e.Event == signin.EvSignInFailed || e.Event == signin.EvLocked || e.Event == signin.EvSignInRefused {
			v.Failed++
		}
	}
	if pats, err := p.cl.As(s.ks).Identities(ctx, "patient"); err == nil {
		for _, pt := range pats {
			v.Patients = append(v.Patients, patientRow{ID: pt.ID, Name: pt.Name})
		}
	}
	p.render(w, r, http.StatusOK, "auditor", s, pageData{Title: "Audit dashboard", Data: v})
}

// report writes a compliance report or a patient's accounting of disclosures in one of
// the report formats, as a download. The period (from, to: RFC 3339 times or dates; empty
// for the defaults, 30 days and six years) follows the same policy as `ehrchain audit
// report`: a longer one is refused with a message saying where it may start.
func (p *Portal) report(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	format, kind, patient := q.Get("format"), auditreport.Kind(q.Get("kind")), q.Get("patient")
	ext := map[string]string{"json": "json", "csv": "csv", "html": "html", "fhir": "fhir.json"}[format]
	ctype := map[string]string{"json": "application/json", "csv": "text/csv", "html": "text/html; charset=utf-8", "fhir": "application/fhir+json"}[format]
	if ext == "" || (kind != auditreport.KindCompliance && kind != auditreport.KindDisclosures) || (kind == auditreport.KindDisclosures && !keys.ValidID(patient)) {
		p.fail(w, r, s, http.StatusBadRequest, "Ask for kind=compliance, or kind=disclosures with a patient id, and format json, csv, html or fhir.")
		return
	}
	now := time.Now().UTC()
	from, err := auditreport.ParseBound(q.Get("from"), false)
	if err != nil {
		p.fail(w, r, s, http.StatusBadRequest, "From %v.", err)
		return
	}
	to, err := auditreport.ParseBound(q.Get("to"), true)
	if err != nil {
		p.fail(w, r, s, http.StatusBadRequest, "To %v.", err)
		return
	}
	if to.IsZero() {
		to = now.Add(reportSlack)
	}
	per, err := auditreport.ResolvePeriod(kind, from, to, now)
	if err != nil {
		p.fail(w, r, s, http.StatusBadRequest, "Cannot write this report: %v.", err)
		return
	}
	ctx := r.Context()
	f := audit.Filter{From: per.FetchFrom, To: per.To}
	if kind == auditreport.KindDisclosures {
		f.Patient = patient
	}
	evs, err := p.allEvents(ctx, s.ks, f)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot query the audit trail: %s", errText(err))
		return
	}
	names := p.names(ctx, s.ks)
	var rep auditreport.Report
	if kind == auditreport.KindCompliance {
		c := auditreport.ComplianceReport(evs, per.From, per.To, auditreport.DefaultRules())
		c.Generated = now
		c.SetNames(names)
		rep = c
	} else {
		a := auditreport.AccountingOfDisclosures(evs, patient, per.From, per.To)
		a.Generated = now
		a.SetNames(names)
		rep = a
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", string(kind)+"-"+now.Format("20060102-150405")+"."+ext))
	if err := auditreport.Write(w, rep, format); err != nil {
		p.cfg.Logf("portal: write report: %v", err)
	}
}

// bucketSizes are the widths activity is counted in; the smallest that gives at most
// maxBuckets bars over the events' span is used.
var bucketSizes = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

const maxBuckets = 40

// activityBars counts events (allowed, denied) per time bucket, from the first event's bucket
// to the last's, empty buckets included.
func activityBars(evs []*audit.Event) []bar {
	if len(evs) == 0 {
		return nil
	}
	first, last := evs[0].Time, evs[0].Time
	for _, e := range evs {
		if e.Time.Before(first) {
			first = e.Time
		}
		if e.Time.After(last) {
			last = e.Time
		}
	}
	size := bucketSizes[len(bucketSizes)-1]
	for _, s := range bucketSizes {
		if last.Truncate(s).Sub(first.Truncate(s))/s < maxBuckets {
			size = s
			break
		}
	}
	start := first.UTC().Truncate(size)
	n := int(last.UTC().Truncate(size).Sub(start)/size) + 1
	bars := make([]bar, n)
	layout := "15:04"
	if size >= 24*time.Hour {
		layout = "01-02"
	}
	for i := range bars {
		bars[i] = bar{Label: start.Add(time.Duration(i) * size).Format(layout), Values: []int{0, 0}}
	}
	for _, e := range evs {
		i := int(e.Time.UTC().Truncate(size).Sub(start) / size)
		if i < 0 || i >= n {
			continue
		}
		if e.Outcome == audit.Denied {
			bars[i].Values[1]++
		} else {
			bars[i].Values[0]++
		}
	}
	return bars
}
