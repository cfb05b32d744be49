// Package trialpage draws a trial's transparency report as one self-contained HTML page
// with its timeline, apart from trials so that the contract and the clients that carry
// reports need no template engine.
package trialpage

import (
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"

	"github.com/ehrchain/ehrchain/internal/trials"
)

//go:embed templates/report.html.tmpl
var templateFS embed.FS

var reportTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"num":  func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"when": when,
	"day":  day,
	"next": func(h int64) int64 { return h + 1 },
}).ParseFS(templateFS, "templates/report.html.tmpl"))

// Lanes of the timeline chart, top to bottom, and the event kinds drawn in each.
var lanes = []struct {
	Name  string
	Kinds []string
}{
	{"protocol", []string{"registration", "amendment"}},
	{"IRB", []string{"approval", "review"}},
	{"consent forms", []string{"consent_form"}},
	{"participants", []string{"enrolment", "reconsent", "withdrawal"}},
	{"data", []string{"export"}},
	{"results", []string{"results", "deadline"}},
}

var kindColour = map[string]string{
	"registration": "#2b6cb0", "amendment": "#805ad5", "approval": "#2f855a", "review": "#68d391",
	"consent_form": "#d69e2e", "enrolment": "#3182ce", "reconsent": "#dd6b20", "withdrawal": "#c53030",
	"export": "#4a5568", "results": "#2c7a7b", "deadline": "#c53030",
}

// timelineChart is the inline SVG geometry of a report's timeline: one lane per kind of
// act, a marker per event at its block time, the results deadline and the block time of
// the report as vertical lines.
type timelineChart struct {
	W, H    float64
	Lanes   []chartLane
	Marks   []chartMark
	Ticks   []chartTick
	Lines   []chartRule
	LabelX  float64
	PlotEnd float64
}

type chartLane struct {
	Y    float64
	Name string
}

type chartMark struct {
	X, Y  float64
	Kind  string
	Fill  string
	Title string
}

type chartTick struct {
	X      float64
	Anchor string
	Text   string
}

type chartRule struct {
	X     float64
	Kind  string
	Text  string // tooltip
	Label string // drawn above the line
	Y1    float64
	Y2    float64
	Class string
}

func buildTimeline(r *trials.Report) timelineChart {
	const left, right, top, laneH = 110.0, 24.0, 18.0, 34.0
	c := timelineChart{W: 900, LabelX: left - 8}
	c.H = top + laneH*float64(len(lanes)) + 30
	c.PlotEnd = c.W - right
	lo, hi := r.BlockTime, r.BlockTime
	for _, e := range r.Timeline {
		if e.Time.Before(lo) {
			lo = e.Time
		}
		if e.Time.After(hi) {
			hi = e.Time
		}
	}
	span := hi.Sub(lo)
	if span <= 0 {
		span = time.Hour
	}
	x := func(t time.Time) float64 { return left + (c.PlotEnd-left)*float64(t.Sub(lo))/float64(span) }
	lane := map[string]float64{}
	for i, l := range lanes {
		y := top + laneH*float64(i) + laneH/2
		c.Lanes = append(c.Lanes, chartLane{Y: y, Name: l.Name})
		for _, k := range l.Kinds {
			lane[k] = y
		}
	}
	bottom := top + laneH*float64(len(lanes))
	for _, e := range r.Timeline {
		if e.Kind == "deadline" {
			c.Lines = append(c.Lines, chartRule{X: x(e.Time), Kind: "deadline", Text: "results due " + day(e.Time), Label: "due", Y1: top, Y2: bottom, Class: "deadline"})
			continue
		}
		title := fmt.Sprintf("%s: %s, height %d", when(e.Time), e.Label, e.Height)
		c.Marks = append(c.Marks, chartMark{X: x(e.Time), Y: lane[e.Kind], Kind: e.Kind, Fill: kindColour[e.Kind], Title: title})
	}
	c.Lines = append(c.Lines, chartRule{X: x(r.BlockTime), Kind: "now", Text: "report at height " + strconv.FormatInt(r.Height, 10), Label: "now", Y1: top, Y2: bottom, Class: "now"})
	for i := range 5 {
		t := lo.Add(time.Duration(float64(span) * float64(i) / 4))
		anchor := map[int]string{0: "start", 4: "end"}[i]
		c.Ticks = append(c.Ticks, chartTick{X: x(t), Anchor: cmp.Or(anchor, "middle"), Text: day(t)})
	}
	return c
}

func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// HTMLPage is what the page shows besides the report: how it was verified.
type HTMLPage struct {
	Report  *trials.Report
	AppHash string // the app hash the proofs were checked against, hex; empty: not verified
	Values  int    // how many proven state values
	// BlockHash is the trusted hash of block Height+1 the block time was proven against
	// (BlockTimeProof), hex; empty: the block time is the node's.
	BlockHash string
	Timeline  timelineChart
}

// WriteHTML writes the report as a self-contained page (no script, nothing loaded from
// elsewhere) with its timeline drawn as inline SVG. appHash is the hash the report's
// proofs verified against ("" if they were not checked), values how many were proven.
func WriteHTML(w io.Writer, r *trials.Report, appHash string, values int) error {
	return WriteHTMLPage(w, HTMLPage{Report: r, AppHash: appHash, Values: values})
}

// WriteHTMLPage is WriteHTML with every field of the page (a proven block time).
func WriteHTMLPage(w io.Writer, p HTMLPage) error {
	p.Timeline = buildTimeline(p.Report)
	return reportTemplate.ExecuteTemplate(w, "report", p)
}
