package auditreport

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
)

//go:embed templates/report.html.tmpl
var templateFS embed.FS

var reportTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"num":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"day":   func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"short": shortID,
}).ParseFS(templateFS, "templates/report.html.tmpl"))

// Chart colours (also in the template's legend and style sheet).
const (
	colourSuccess = "#2b6cb0"
	colourDenied  = "#c53030"
)

var severityColour = map[string]string{SeverityHigh: "#c53030", SeverityMedium: "#dd6b20", SeverityLow: "#b7791f"}

// svgChart is the geometry of one inline SVG chart, computed here so the page needs no
// script: bars, axis labels and grid lines.
type svgChart struct {
	ID     string
	Title  string // accessible name
	W, H   float64
	Bars   []svgBar
	Labels []svgLabel
	Lines  []svgLine
	Empty  string // shown instead of bars when there is nothing to draw
}

type svgBar struct {
	X, Y, W, H float64
	Fill       string
	Tip        string // tooltip
	Kind       string // data-kind attribute, for tests and styling
}

type svgLabel struct {
	X, Y   float64
	Anchor string
	Text   string
}

type svgLine struct{ X1, Y1, X2, Y2 float64 }

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceMax(v int) int {
	if v <= 1 {
		return 1
	}
	p := int(math.Pow(10, math.Floor(math.Log10(float64(v)))))
	for _, m := range []int{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// dayChart draws stacked vertical bars (allowed below, denied on top) per day.
func dayChart(days []Day) svgChart {
	c := svgChart{ID: "chart-activity-over-time", Title: "Activity per day: allowed and denied events", W: 900, H: 280}
	if len(days) == 0 {
		c.Empty = "No activity in this period."
		return c
	}
	const left, right, top, bottom = 48.0, 12.0, 12.0, 48.0
	plotW, plotH := c.W-left-right, c.H-top-bottom
	most := 0
	for _, d := range days {
		most = max(most, d.Success+d.Denied)
	}
	ymax := niceMax(most)
	for _, f := range []float64{0, 0.5, 1} {
		y := top + plotH*(1-f)
		c.Lines = append(c.Lines, svgLine{left, y, left + plotW, y})
		c.Labels = append(c.Labels, svgLabel{left - 6, y + 4, "end", strconv.Itoa(int(math.Round(f * float64(ymax))))})
	}
	slot := plotW / float64(len(days))
	w := math.Max(slot*0.8, 1)
	every := max(1, int(math.Ceil(float64(len(days))/8)))
	for i, d := range days {
		x := left + float64(i)*slot + (slot-w)/2
		hs := plotH * float64(d.Success) / float64(ymax)
		hd := plotH * float64(d.Denied) / float64(ymax)
		base := top + plotH
		if d.Success > 0 {
			c.Bars = append(c.Bars, svgBar{x, base - hs, w, hs, colourSuccess, fmt.Sprintf("%s: %d allowed", d.Date, d.Success), "success"})
		}
		if d.Denied > 0 {
			c.Bars = append(c.Bars, svgBar{x, base - hs - hd, w, hd, colourDenied, fmt.Sprintf("%s: %d denied", d.Date, d.Denied), "denied"})
		}
		if i%every == 0 || i == len(days)-1 && len(days) <= 8 {
			c.Labels = append(c.Labels, svgLabel{left + float64(i)*slot + slot/2, base + 18, "middle", d.Date})
		}
	}
	return c
}

// hbar is one row of a horizontal bar chart, drawn as stacked segments.
type hbar struct {
	Label    string
	Segments []hsegment
}

type hsegment struct {
	Value int
	Fill  string
	Kind  string
	Tip   string
}

// hbarChart draws one horizontal bar per row, longest scale first.
func hbarChart(id, title string, rows []hbar, empty string) svgChart {
	const left, right, rowH, top = 300.0, 60.0, 26.0, 8.0
	c := svgChart{ID: id, Title: title, W: 900, H: top*2 + rowH*float64(max(len(rows), 1))}
	if len(rows) == 0 {
		c.Empty = empty
		return c
	}
	most := 0
	for _, r := range rows {
		total := 0
		for _, s := range r.Segments {
			total += s.Value
		}
		most = max(most, total)
	}
	scale := (c.W - left - right) / float64(max(most, 1))
	for i, r := range rows {
		y := top + float64(i)*rowH
		c.Labels = append(c.Labels, svgLabel{left - 8, y + rowH/2 + 4, "end", r.Label})
		x, total := left, 0
		for _, s := range r.Segments {
			if s.Value == 0 {
				continue
			}
			w := float64(s.Value) * scale
			c.Bars = append(c.Bars, svgBar{x, y + 4, w, rowH - 8, s.Fill, s.Tip, s.Kind})
			x += w
			total += s.Value
		}
		c.Labels = append(c.Labels, svgLabel{x + 6, y + rowH/2 + 4, "start", strconv.Itoa(total)})
	}
	return c
}

// maxActorRows bounds the actor chart; the table below it lists everyone.
const maxActorRows = 25

func actorChart(actors []ActorActivity, names map[string]string) svgChart {
	var rows []hbar
	for _, a := range actors[:min(len(actors), maxActorRows)] {
		label := truncate(joinNonEmpty(" · ", displayName(names, a.Actor), a.Role, a.Organization), 44)
		rows = append(rows, hbar{Label: label, Segments: []hsegment{
			{a.Success, colourSuccess, "success", fmt.Sprintf("%s: %d allowed", a.Actor, a.Success)},
			{a.Denied, colourDenied, "denied", fmt.Sprintf("%s: %d denied", a.Actor, a.Denied)},
		}})
	}
	return hbarChart("chart-activity-by-actor", "Events per actor: allowed and denied", rows, "No actor was active in this period.")
}

func anomalyChart(anoms []Anomaly) svgChart {
	count := map[string]int{}
	for _, a := range anoms {
		count[a.Rule]++
	}
	var rows []hbar
	for _, ri := range RuleCatalog {
		if count[ri.Rule] > 0 {
			rows = append(rows, hbar{Label: ri.Rule, Segments: []hsegment{
				{count[ri.Rule], severityColour[ri.Severity], "anomaly", fmt.Sprintf("%s: %d findings", ri.Rule, count[ri.Rule])}}})
		}
	}
	return hbarChart("chart-anomalies", "Findings per anomaly rule", rows, "No anomalies in this period.")
}

func recipientChart(ds []Disclosure, names map[string]string) svgChart {
	count := map[string]int{}
	var order []string
	label := map[string]string{}
	for _, d := range ds {
		if count[d.Recipient.ID] == 0 {
			order = append(order, d.Recipient.ID)
			label[d.Recipient.ID] = truncate(joinNonEmpty(" · ", displayName(names, d.Recipient.ID), d.Recipient.Role, d.Recipient.Organization), 44)
		}
		count[d.Recipient.ID]++
	}
	var rows []hbar
	for _, id := range order {
		rows = append(rows, hbar{Label: label[id], Segments: []hsegment{{count[id], colourSuccess, "disclosure", fmt.Sprintf("%s: %d disclosures", id, count[id])}}})
	}
	return hbarChart("chart-disclosures-by-recipient", "Disclosures per recipient", rows, "No disclosures in this period.")
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// htmlAnomaly is an anomaly with its triggering events resolved, for the page.
type htmlAnomaly struct {
	Anomaly
	ActorName   string
	Colour      string
	Explanation string
	Triggers    []*audit.Event
}

type htmlRule struct {
	RuleInfo
	Colour    string
	Threshold string
	Findings  int
}

type complianceView struct {
	*Compliance
	Denied       int
	Severities   []Count
	Rules        []htmlRule
	Anomalies    []htmlAnomaly
	ActivityDays svgChart
	ActorsChart  svgChart
	AnomalyChart svgChart
	Success      string
	Fail         string
	Name         func(string) string
}

// WriteHTML writes the compliance report as one self-contained HTML page: inline CSS and
// SVG charts, no script and nothing loaded from elsewhere.
func (c *Compliance) WriteHTML(w io.Writer) error {
	v := complianceView{Compliance: c, ActivityDays: dayChart(c.PerDay), ActorsChart: actorChart(c.ByActor, c.Names),
		AnomalyChart: anomalyChart(c.Anomalies), Success: colourSuccess, Fail: colourDenied,
		Name: func(id string) string { return displayName(c.Names, id) }}
	for _, o := range c.ByOutcome {
		if o.Key == audit.Denied {
			v.Denied = o.Count
		}
	}
	sev, findings := map[string]int{}, map[string]int{}
	for _, a := range c.Anomalies {
		sev[a.Severity]++
		findings[a.Rule]++
		ha := htmlAnomaly{Anomaly: a, ActorName: displayName(c.Names, a.Actor), Colour: severityColour[a.Severity]}
		for _, ri := range RuleCatalog {
			if ri.Rule == a.Rule {
				ha.Explanation = ri.Description
			}
		}
		for _, i := range a.Events {
			if e := c.Event(i); e != nil {
				ha.Triggers = append(ha.Triggers, e)
			}
		}
		v.Anomalies = append(v.Anomalies, ha)
	}
	for _, s := range []string{SeverityHigh, SeverityMedium, SeverityLow} {
		v.Severities = append(v.Severities, Count{s, sev[s]})
	}
	for _, ri := range RuleCatalog {
		hr := htmlRule{RuleInfo: ri, Colour: severityColour[ri.Severity], Findings: findings[ri.Rule]}
		switch ri.Rule {
		case RuleRepeatedDenials:
			hr.Threshold = fmt.Sprintf("%d denials within %s", c.Rules.RepeatedDenials, c.Rules.DenialWindow)
		case RuleManyPatients:
			hr.Threshold = fmt.Sprintf("%d patients within %s", c.Rules.ManyPatients, c.Rules.PatientWindow)
		case RuleOutsideHours:
			hr.Threshold = fmt.Sprintf("working hours %02d:00–%02d:00 %s", c.Rules.WorkStart, c.Rules.WorkEnd, c.TimeZone)
		}
		v.Rules = append(v.Rules, hr)
	}
	return reportTemplate.ExecuteTemplate(w, "compliance", v)
}

type accountingView struct {
	*Accounting
	Chart   svgChart
	Success string
	Name    func(string) string
}

// WriteHTML writes the accounting of disclosures as one self-contained HTML page.
func (a *Accounting) WriteHTML(w io.Writer) error {
	return reportTemplate.ExecuteTemplate(w, "accounting", accountingView{Accounting: a,
		Chart: recipientChart(a.Disclosures, a.Names), Success: colourSuccess,
		Name: func(id string) string { return displayName(a.Names, id) }})
}
