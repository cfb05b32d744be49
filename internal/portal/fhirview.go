package portal

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/records"
)

// The portal reads FHIR R4 JSON loosely: only the fields a timeline and a chart need.
type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type codeable struct {
	Text   string   `json:"text"`
	Coding []coding `json:"coding"`
}

func (c *codeable) label() string {
	if c == nil {
		return ""
	}
	if c.Text != "" {
		return c.Text
	}
	for _, k := range c.Coding {
		if k.Display != "" {
			return k.Display
		}
	}
	if len(c.Coding) > 0 {
		return c.Coding[0].Code
	}
	return ""
}

// loinc returns the LOINC code of a concept, or its first code.
func (c *codeable) loinc() string {
	if c == nil {
		return ""
	}
	for _, k := range c.Coding {
		if k.System == "http://loinc.org" {
			return k.Code
		}
	}
	if len(c.Coding) > 0 {
		return c.Coding[0].Code
	}
	return ""
}

type quantity struct {
	Value *float64 `json:"value"`
	Unit  string   `json:"unit"`
}

func (q *quantity) String() string {
	if q == nil || q.Value == nil {
		return ""
	}
	return strings.TrimSpace(roundText(*q.Value) + " " + q.Unit)
}

type reference struct {
	Reference string `json:"reference"`
}

type fhirResource struct {
	ResourceType string     `json:"resourceType"`
	ID           string     `json:"id"`
	Status       string     `json:"status"`
	Encounter    *reference `json:"encounter"`
	Context      *struct {
		Encounter []reference `json:"encounter"`
	} `json:"context"`
	EffectiveDateTime string `json:"effectiveDateTime"`
	Issued            string `json:"issued"`
	Date              string `json:"date"`
	RecordedDate      string `json:"recordedDate"`
	OnsetDateTime     string `json:"onsetDateTime"`
	AuthoredOn        string `json:"authoredOn"`
	OccurrenceDate    string `json:"occurrenceDateTime"`
	PerformedDate     string `json:"performedDateTime"`
	WhenHandedOver    string `json:"whenHandedOver"` // MedicationDispense
	Period            *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
	Code               *codeable `json:"code"`
	MedicationCodeable *codeable `json:"medicationCodeableConcept"`
	MedicationRef      *struct {
		Display string `json:"display"`
	} `json:"medicationReference"`
	VaccineCode   *codeable       `json:"vaccineCode"`
	Type          json.RawMessage `json:"type"` // a list (Encounter) or one concept (DocumentReference)
	Class         *coding         `json:"class"`
	ValueQuantity *quantity       `json:"valueQuantity"`
	ValueCodeable *codeable       `json:"valueCodeableConcept"`
	Component     []struct {
		Code          codeable  `json:"code"`
		ValueQuantity *quantity `json:"valueQuantity"`
	} `json:"component"`
	Description string `json:"description"`
	Content     []struct {
		Attachment struct {
			ContentType string `json:"contentType"`
			Data        []byte `json:"data"`
			Title       string `json:"title"`
		} `json:"attachment"`
	} `json:"content"`
	Author []struct {
		Display string `json:"display"`
	} `json:"author"`
}

// entry is one record on a timeline.
type entry struct {
	Meta      *records.Meta
	Type      string
	When      time.Time
	Title     string
	Value     string
	Text      string // a note's text
	Author    string
	Encounter string // the encounter's id, if the resource names one
	Download  bool   // not FHIR JSON: offered as a file
	Error     string // could not be read or decrypted
	res       *fhirResource
}

func parseTime(vals ...string) time.Time {
	for _, v := range vals {
		if v == "" {
			continue
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", time.DateOnly} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC()
			}
		}
	}
	return time.Time{}
}

func refID(ref string) string {
	ref = strings.TrimPrefix(ref, "urn:uuid:")
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		ref = ref[i+1:]
	}
	return ref
}

// newEntry describes a decrypted record.
func newEntry(m *records.Meta, plaintext []byte, names map[string]string) entry {
	e := entry{Meta: m, Type: m.ResourceType, When: time.Unix(m.Time, 0).UTC(), Author: names[m.Author]}
	if e.Author == "" {
		e.Author = short(m.Author)
	}
	if !strings.Contains(m.ContentType, "json") {
		e.Download, e.Title = true, "Document ("+m.ContentType+")"
		return e
	}
	var r fhirResource
	if err := json.Unmarshal(plaintext, &r); err != nil || r.ResourceType == "" {
		e.Download, e.Title = true, "Document ("+m.ContentType+")"
		return e
	}
	e.res, e.Type = &r, r.ResourceType
	if t := parseTime(r.EffectiveDateTime, r.OccurrenceDate, r.PerformedDate, r.OnsetDateTime, r.RecordedDate, r.AuthoredOn, r.WhenHandedOver, r.Date, r.Issued); !t.IsZero() {
		e.When = t
	} else if r.Period != nil {
		if t := parseTime(r.Period.Start); !t.IsZero() {
			e.When = t
		}
	}
	switch {
	case r.Code != nil:
		e.Title = r.Code.label()
	case r.MedicationCodeable != nil:
		e.Title = r.MedicationCodeable.label()
	case r.MedicationRef != nil && r.MedicationRef.Display != "":
		e.Title = r.MedicationRef.Display
	case r.VaccineCode != nil:
		e.Title = r.VaccineCode.label()
	default:
		e.Title = r.typeLabel()
	}
	if e.Title == "" {
		e.Title = r.Description
	}
	switch {
	case r.ValueQuantity != nil:
		e.Value = r.ValueQuantity.String()
	case r.ValueCodeable != nil:
		e.Value = r.ValueCodeable.label()
	case len(r.Component) > 0:
		var parts []string
		for _, c := range r.Component {
			if v := c.ValueQuantity.String(); v != "" {
				parts = append(parts, c.Code.label()+" "+v)
			}
		}
		e.Value = strings.Join(parts, "; ")
	}
	if r.Encounter != nil {
		e.Encounter = refID(r.Encounter.Reference)
	} else if r.Context != nil && len(r.Context.Encounter) > 0 {
		e.Encounter = refID(r.Context.Encounter[0].Reference)
	}
	if r.ResourceType == "DocumentReference" {
		for _, c := range r.Content {
			if strings.HasPrefix(c.Attachment.ContentType, "text/plain") {
				e.Text = string(c.Attachment.Data)
			}
		}
		if len(r.Author) > 0 && r.Author[0].Display != "" {
			e.Author = r.Author[0].Display
		}
		if e.Title == "" {
			e.Title = "Clinical note"
		}
	}
	if e.Title == "" {
		e.Title = r.ResourceType
	}
	return e
}

// encounterGroup is one encounter on a timeline and the records made during it.
type encounterGroup struct {
	ID      string
	Title   string
	When    time.Time
	Class   string
	Entries []entry
}

// groupByEncounter arranges entries under their encounters, newest encounter first; records
// that name no encounter (or one the reader cannot see) go to a last group.
func groupByEncounter(es []entry) []encounterGroup {
	groups := map[string]*encounterGroup{}
	var order []string
	get := func(id string) *encounterGroup {
		g := groups[id]
		if g == nil {
			g = &encounterGroup{ID: id}
			groups[id] = g
			order = append(order, id)
		}
		return g
	}
	for _, e := range es {
		if e.res != nil && e.Type == "Encounter" {
			g := get(e.res.ID)
			g.Title, g.When = e.Title, e.When
			if e.res.Class != nil {
				g.Class = e.res.Class.Code
			}
			continue
		}
		get(e.Encounter).Entries = append(get(e.Encounter).Entries, e)
	}
	var out []encounterGroup
	for _, id := range order {
		g := groups[id]
		if id == "" {
			continue
		}
		if g.Title == "" {
			g.Title = "Encounter " + short(id)
		}
		if g.When.IsZero() {
			for _, e := range g.Entries {
				if g.When.IsZero() || e.When.Before(g.When) {
					g.When = e.When
				}
			}
		}
		out = append(out, *g)
	}
	slices.SortStableFunc(out, func(a, b encounterGroup) int { return b.When.Compare(a.When) })
	if g := groups[""]; g != nil && len(g.Entries) > 0 {
		g.Title = "Other records"
		out = append(out, *g)
	}
	for i := range out {
		slices.SortStableFunc(out[i].Entries, func(a, b entry) int {
			return cmp.Or(a.When.Compare(b.When), cmp.Compare(a.Title, b.Title))
		})
	}
	return out
}

func short(id string) string {
	if len(id) > 10 {
		return id[:10] + "…"
	}
	return id
}

// point is one measurement.
type point struct {
	T time.Time
	V float64
}

// series is one measured quantity over time.
type series struct {
	Name, Unit string
	Points     []point
}

// chartSpec is one chart: one or more series sharing an axis.
type chartSpec struct {
	ID, Title, Unit string
	Series          []series
}

// chartOrder puts the common vital signs and labs first (LOINC codes).
var chartOrder = map[string]int{
	"85354-9": 1, // blood pressure panel
	"55284-4": 1, // blood pressure (Synthea)
	"8867-4":  2, // heart rate
	"39156-5": 3, // BMI
	"2339-0":  4, // glucose (mass/volume in blood)
	"2345-7":  4, // glucose (serum/plasma)
	"29463-7": 5, // body weight
	"8302-2":  6, // body height
	"9279-1":  7, // respiratory rate
	"8310-5":  8, // body temperature
	"4548-4":  9, // HbA1c
}

// observationCharts builds the charts of every numeric Observation: one chart per code; the
// blood pressure panel as one chart of its systolic and diastolic components.
func observationCharts(es []entry) []chartSpec {
	type acc struct {
		spec   chartSpec
		byName map[string]int
	}
	charts := map[string]*acc{}
	add := func(code, title, name, unit string, t time.Time, v float64) {
		a := charts[code]
		if a == nil {
			a = &acc{spec: chartSpec{ID: "chart-" + code, Title: title, Unit: unit}, byName: map[string]int{}}
			charts[code] = a
		}
		i, ok := a.byName[name]
		if !ok {
			i = len(a.spec.Series)
			a.byName[name] = i
			a.spec.Series = append(a.spec.Series, series{Name: name, Unit: unit})
		}
		a.spec.Series[i].Points = append(a.spec.Series[i].Points, point{t, v})
	}
	for _, e := range es {
		r := e.res
		if r == nil || r.ResourceType != "Observation" || r.Code == nil || e.When.IsZero() {
			continue
		}
		code := r.Code.loinc()
		if code == "" {
			continue
		}
		if r.ValueQuantity != nil && r.ValueQuantity.Value != nil {
			add(code, r.Code.label(), r.Code.label(), r.ValueQuantity.Unit, e.When, *r.ValueQuantity.Value)
			continue
		}
		for _, c := range r.Component {
			if c.ValueQuantity != nil && c.ValueQuantity.Value != nil {
				add(code, r.Code.label(), c.Code.label(), c.ValueQuantity.Unit, e.When, *c.ValueQuantity.Value)
			}
		}
	}
	var out []chartSpec
	for _, a := range charts {
		for i := range a.spec.Series {
			slices.SortStableFunc(a.spec.Series[i].Points, func(x, y point) int { return x.T.Compare(y.T) })
		}
		out = append(out, a.spec)
	}
	rank := func(c chartSpec) int {
		if r, ok := chartOrder[strings.TrimPrefix(c.ID, "chart-")]; ok {
			return r
		}
		return 100
	}
	slices.SortFunc(out, func(a, b chartSpec) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Title, b.Title)) })
	return out
}

// describe is a one-line summary of a chart's latest values (for screen readers and tests).
func (c chartSpec) describe() string {
	var parts []string
	for _, s := range c.Series {
		if n := len(s.Points); n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s %s (%d values)", s.Name, roundText(s.Points[n-1].V), s.Unit, n))
		}
	}
	return strings.Join(parts, ", ")
}

// roundText shows a measurement with the precision a reader needs: Synthea (and some devices)
// write values like 118.66378496930037.
func roundText(v float64) string {
	prec := 1
	if math.Abs(v) < 10 {
		prec = 2
	}
	return strconv.FormatFloat(math.Round(v*math.Pow10(prec))/math.Pow10(prec), 'f', -1, 64)
}

// typeLabel reads "type" in either of its FHIR shapes.
func (r *fhirResource) typeLabel() string {
	var one codeable
	if json.Unmarshal(r.Type, &one) == nil {
		return one.label()
	}
	var list []codeable
	if json.Unmarshal(r.Type, &list) == nil && len(list) > 0 {
		return list[0].label()
	}
	return ""
}
