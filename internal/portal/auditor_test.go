package portal_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAuditorReportPeriod: the auditor's report downloads follow the report period policy
// of `ehrchain audit report`: a period longer than a report may cover, or one that ends
// before it starts, is refused with a message saying why; a period asked for is the one
// reported on.
func TestAuditorReportPeriod(t *testing.T) {
	e := startEnv(t)
	w := newWeb(t, e.base)
	w.enrol(e, "auditor")
	pat := e.ids["pat"].ID
	now := time.Now().UTC()
	day := func(d int) string { return now.AddDate(0, 0, d).Format(time.DateOnly) }

	_, body := w.get("/portal/auditor")
	for _, id := range []string{`id="report-from"`, `id="report-to"`} {
		if !strings.Contains(body, id) {
			t.Errorf("the report form has no %s field", id)
		}
	}
	for _, c := range []struct{ query, want string }{
		{"kind=disclosures&format=json&patient=" + pat + "&from=" + now.AddDate(-7, 0, 0).Format(time.DateOnly), "an accounting of disclosures covers at most 6 years"},
		{"kind=compliance&format=csv&from=" + now.AddDate(-2, 0, 0).Format(time.DateOnly), "a compliance report covers at most 1 year"},
		{"kind=compliance&format=json&from=" + day(1) + "&to=" + day(-1), "after its end"},
		{"kind=compliance&format=json&from=last-week", "give an RFC 3339 time"},
	} {
		resp, body := w.get("/portal/auditor/report?" + c.query)
		wantPage(t, resp, body, http.StatusBadRequest, c.want)
	}

	// The default compliance period holds the cast's registrations; a past month holds none.
	report := func(query string) (n int, from, to time.Time) {
		t.Helper()
		resp, body := w.get("/portal/auditor/report?kind=compliance&format=json" + query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %.400s", query, resp.StatusCode, body)
		}
		var c struct {
			Events int       `json:"events"`
			From   time.Time `json:"from"`
			To     time.Time `json:"to"`
		}
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatal(err)
		}
		return c.Events, c.From, c.To
	}
	if n, from, _ := report(""); n == 0 || now.Sub(from) < 29*24*time.Hour {
		t.Errorf("default compliance report: %d events from %s", n, from)
	}
	n, from, to := report("&from=" + day(-60) + "&to=" + day(-31))
	if n != 0 || from.Format(time.DateOnly) != day(-60) || to.Format(time.DateOnly) != day(-30) {
		t.Errorf("past month: %d events over [%s, %s)", n, from, to)
	}
}
