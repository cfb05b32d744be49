package trials

import (
	"reflect"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/tx"
)

func TestCompare(t *testing.T) {
	pre := Outcomes{Primary: []Outcome{{"HbA1c change", "26 weeks"}}, Secondary: []Outcome{{"Weight", "26 weeks"}}}
	r := func(m, tf string, primary bool) Reported {
		return Reported{Measure: m, TimeFrame: tf, Primary: primary, Result: "x"}
	}
	for _, c := range []struct {
		name string
		rep  []Reported
		want []string
	}{
		{"as registered", []Reported{r("HbA1c change", "26 weeks", true), r("Weight", "26 weeks", false)}, nil},
		{"case and spaces do not matter", []Reported{r("hba1c  CHANGE", "26 weeks", true), r("weight", "26 weeks", false)}, nil},
		{"primary missing", []Reported{r("Weight", "26 weeks", false)}, []string{MissingPrimary}},
		{"secondary missing", []Reported{r("HbA1c change", "26 weeks", true)}, []string{MissingSecondary}},
		{"new outcome", []Reported{r("HbA1c change", "26 weeks", true), r("Weight", "26 weeks", false), r("Hypoglycaemia", "26 weeks", false)}, []string{NotPrespecified}},
		{"switched primary", []Reported{r("HbA1c change", "26 weeks", false), r("Weight", "26 weeks", true)}, []string{PrimaryDemoted, SecondaryPromoted}},
		{"time frame changed", []Reported{r("HbA1c change", "12 weeks", true), r("Weight", "26 weeks", false)}, []string{TimeFrameChanged}},
	} {
		var got []string
		for _, d := range Compare(pre, c.rep) {
			got = append(got, d.Kind)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: discrepancies %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPrimarySwitched(t *testing.T) {
	a := &Protocol{Outcomes: Outcomes{Primary: []Outcome{{"A", "1y"}, {"B", "1y"}}}}
	for _, c := range []struct {
		name    string
		primary []Outcome
		want    bool
	}{
		{"same", []Outcome{{"A", "1y"}, {"B", "1y"}}, false},
		{"reordered", []Outcome{{"B", "1y"}, {"A", "1y"}}, false},
		{"dropped", []Outcome{{"A", "1y"}}, true},
		{"added", []Outcome{{"A", "1y"}, {"B", "1y"}, {"C", "1y"}}, true},
		{"replaced", []Outcome{{"A", "1y"}, {"C", "1y"}}, true},
		{"time frame", []Outcome{{"A", "1y"}, {"B", "2y"}}, true},
	} {
		if got := PrimarySwitched(a, &Protocol{Outcomes: Outcomes{Primary: c.primary}}); got != c.want {
			t.Errorf("%s: switched %v, want %v", c.name, got, c.want)
		}
	}
}

func TestOverdue(t *testing.T) {
	at := func(s string) time.Time { d, _ := time.Parse(time.RFC3339, s); return d }
	for _, c := range []struct {
		name string
		tr   Trial
		now  string
		want bool
	}{
		{"before the deadline", Trial{PrimaryCompletion: "2025-03-01"}, "2026-03-01T23:59:59Z", false},
		{"just after the deadline", Trial{PrimaryCompletion: "2025-03-01"}, "2026-03-02T00:00:00Z", true},
		{"results on time", Trial{PrimaryCompletion: "2025-03-01", Results: 1, FirstResults: at("2026-01-01T00:00:00Z")}, "2027-01-01T00:00:00Z", false},
		{"results late, asked before they came", Trial{PrimaryCompletion: "2025-03-01", Results: 1, FirstResults: at("2026-09-01T00:00:00Z")}, "2026-06-01T00:00:00Z", true},
		{"results late, asked after", Trial{PrimaryCompletion: "2025-03-01", Results: 1, FirstResults: at("2026-09-01T00:00:00Z")}, "2026-10-01T00:00:00Z", false},
		{"leap day", Trial{PrimaryCompletion: "2024-02-29"}, "2025-03-01T12:00:00Z", false},
		{"malformed date is not judged", Trial{PrimaryCompletion: "soon"}, "2030-01-01T00:00:00Z", false},
	} {
		if got := Overdue(&c.tr, at(c.now)); got != c.want {
			t.Errorf("%s: overdue %v, want %v", c.name, got, c.want)
		}
	}
	if !Late("2025-03-01", at("2026-03-02T00:00:01Z")) || Late("2025-03-01", at("2026-03-01T10:00:00Z")) {
		t.Error("Late disagrees with the deadline")
	}
}

func TestValidateStudy(t *testing.T) {
	for _, c := range []struct {
		doc string
		ok  bool
	}{
		{`{"resourceType":"ResearchStudy","status":"active","id":"s1"}`, true},
		{``, false},
		{`{"resourceType":"ResearchStudy","status":"active"`, false},
		{`[1]`, false},
		{`{"status":"active"}`, false},
		{`{"resourceType":"Patient","status":"active"}`, false},
		{`{"resourceType":"ResearchStudy"}`, false},
		{`{"resourceType":"ResearchStudy","status":"running"}`, false},
		{`{"resourceType":"ResearchStudy","status":"active","id":7}`, false},
	} {
		if err := validateStudy([]byte(c.doc)); (err == nil) != c.ok {
			t.Errorf("%s: error %v, want ok=%v", c.doc, err, c.ok)
		}
	}
}

func TestChanges(t *testing.T) {
	a := Protocol{Digest: "a", PlannedEnrolment: 10, PrimaryCompletion: "2026-01-01", ResearchStudy: []byte("{}")}
	b := a
	b.PlannedEnrolment, b.ResearchStudy = 20, []byte(`{ }`)
	if got := Changes(&a, &b); !reflect.DeepEqual(got, []string{"planned_enrolment", "research_study"}) {
		t.Fatalf("changes %v", got)
	}
	b.Categories = []string{"general"}
	if got := Changes(&a, &b); !reflect.DeepEqual(got, []string{"planned_enrolment", "research_study", "categories"}) {
		t.Fatalf("changes %v", got)
	}
	if got := Changes(&a, &a); got != nil {
		t.Fatalf("no change reported as %v", got)
	}
}

func TestCodeClasses(t *testing.T) {
	for code, want := range map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeInvalid: tx.Invalid, CodeNotRegistered: tx.NotFound,
		CodeDuplicate: tx.Conflict, CodeNotApproved: tx.Conflict, CodeMeaning: tx.Invalid,
	} {
		if got := tx.ClassOf(string(Space), code); got != want {
			t.Errorf("code %d: class %d, want %d", code, got, want)
		}
	}
}
