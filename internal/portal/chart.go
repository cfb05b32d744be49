package portal

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"
)

// Charts are inline SVG drawn here, on the server: no script and no external asset. They
// scale with their container (viewBox), so they fit a phone and a laptop alike. Colours are
// presentation attributes, not style attributes, so the page's CSP needs no inline styles.

var palette = []string{"#1f6fb2", "#c0392b", "#2e8b57", "#8e44ad", "#d35400"}

const (
	chartW, chartH                 = 420, 210
	padL, padR, padT, padB float64 = 52, 16, 14, 40
	legendRow                      = 16
)

func fmtNum(v float64) string {
	if math.Abs(v) >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return roundText(v)
}

// lineChart draws the series of c over time.
func lineChart(c chartSpec) template.HTML {
	var t0, t1 time.Time
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			if t0.IsZero() || p.T.Before(t0) {
				t0 = p.T
			}
			if p.T.After(t1) {
				t1 = p.T
			}
			lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
		}
	}
	if math.IsInf(lo, 0) {
		return ""
	}
	if hi == lo {
		hi, lo = hi+1, lo-1
	}
	span := hi - lo
	lo, hi = lo-span*0.1, hi+span*0.1
	dt := t1.Sub(t0).Seconds()
	x := func(t time.Time) float64 {
		if dt == 0 {
			return padL + (chartW-padL-padR)/2
		}
		return padL + t.Sub(t0).Seconds()/dt*(chartW-padL-padR)
	}
	y := func(v float64) float64 { return padT + (hi-v)/(hi-lo)*(chartH-padT-padB) }
	var b strings.Builder
	e := html.EscapeString
	// One legend row per series below the plot, so long names fit a phone's width.
	fmt.Fprintf(&b, `<svg id="%s" class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s: %s" preserveAspectRatio="xMidYMid meet">`,
		e(c.ID), chartW, chartH+legendRow*(len(c.Series)-1), e(c.Title), e(c.describe()))
	fmt.Fprintf(&b, `<title>%s</title>`, e(c.Title))
	// Axes and three horizontal grid lines with their values.
	for i := 0; i <= 2; i++ {
		v := lo + (hi-lo)*float64(i)/2
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd" stroke-width="1"/>`, padL, y(v), chartW-padR, y(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="end" fill="#555">%s</text>`, padL-6, y(v)+4, e(fmtNum(math.Round(v*10)/10)))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" fill="#555">%s</text>`, padL, chartH-22, e(t0.Format("2006-01-02")))
	if dt > 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" text-anchor="end" fill="#555">%s</text>`, chartW-padR, chartH-22, e(t1.Format("2006-01-02")))
	}
	for i, s := range c.Series {
		col := palette[i%len(palette)]
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.T), y(p.V)))
		}
		fmt.Fprintf(&b, `<polyline class="series" data-series="%s" points="%s" fill="none" stroke="%s" stroke-width="2"/>`, e(s.Name), strings.Join(pts, " "), col)
		for _, p := range s.Points {
			fmt.Fprintf(&b, `<circle class="pt" cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %s %s on %s</title></circle>`,
				x(p.T), y(p.V), col, e(s.Name), e(fmtNum(p.V)), e(s.Unit), e(p.T.Format("2006-01-02")))
		}
		label := s.Name
		if s.Unit != "" {
			label += " (" + s.Unit + ")"
		}
		ly := chartH + legendRow*i
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="10" height="10" fill="%s"/><text x="%.1f" y="%d" font-size="12" fill="#333">%s</text>`,
			padL, ly-12, col, padL+14, ly-3, e(label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// bar is one bar of a bar chart: a label and stacked values.
type bar struct {
	Label  string
	Values []int
}

// barChart draws stacked vertical bars (e.g. events per day: allowed, denied).
func barChart(id, title string, legend []string, bars []bar) template.HTML {
	if len(bars) == 0 {
		return template.HTML(`<p class="muted">No activity in this period.</p>`)
	}
	max := 1
	for _, br := range bars {
		t := 0
		for _, v := range br.Values {
			t += v
		}
		max = int(math.Max(float64(max), float64(t)))
	}
	e := html.EscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" preserveAspectRatio="xMidYMid meet"><title>%s</title>`, e(id), chartW, chartH, e(title), e(title))
	w := (chartW - padL - padR) / float64(len(bars))
	base := float64(chartH) - padB
	scale := (base - padT) / float64(max)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="end" fill="#555">%d</text>`, padL-6, padT+4, max)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="end" fill="#555">0</text>`, padL-6, base+4)
	for i, br := range bars {
		y := base
		for j, v := range br.Values {
			if v == 0 {
				continue
			}
			h := float64(v) * scale
			y -= h
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d %s</title></rect>`,
				padL+float64(i)*w+w*0.1, y, w*0.8, h, palette[j%len(palette)], e(br.Label), v, e(legend[j]))
		}
		if len(bars) <= 12 || i%(len(bars)/6+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle" fill="#555">%s</text>`, padL+float64(i)*w+w/2, base+14, e(br.Label))
		}
	}
	lx := padL
	for j, l := range legend {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="10" height="10" fill="%s"/><text x="%.1f" y="%d" font-size="12" fill="#333">%s</text>`, lx, chartH-12, palette[j%len(palette)], lx+14, chartH-3, e(l))
		lx += 30 + 6.8*float64(len(l))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// hbarChart draws one horizontal bar per label (e.g. events by action), long labels readable.
func hbarChart(id, title string, bars []bar) template.HTML {
	if len(bars) == 0 {
		return template.HTML(`<p class="muted">No activity in this period.</p>`)
	}
	max := 1
	for _, br := range bars {
		if br.Values[0] > max {
			max = br.Values[0]
		}
	}
	const rowH, labelW = 22.0, 130.0
	h := int(rowH*float64(len(bars))) + 8
	e := html.EscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" preserveAspectRatio="xMidYMid meet"><title>%s</title>`, e(id), chartW, h, e(title), e(title))
	for i, br := range bars {
		y := 4 + rowH*float64(i)
		w := float64(br.Values[0]) / float64(max) * (chartW - labelW - 50)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="end" fill="#333">%s</text>`, labelW-6, y+14, e(br.Label))
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d</title></rect>`, labelW, y+3, math.Max(w, 1), rowH-8, palette[0], e(br.Label), br.Values[0])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" fill="#333">%d</text>`, labelW+math.Max(w, 1)+4, y+14, br.Values[0])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
