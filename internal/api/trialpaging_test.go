package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// TestTrialReportPaging: the cross-trial report pages by ?limit= and ?after= with a next
// link, and walking the links returns every trial exactly once, in id order, whatever the
// page size; a bad limit or after is refused with what is wrong.
func TestTrialReportPaging(t *testing.T) {
	n := newTrialNode(t)
	ids := []string{"m-7", "A-1", "b-3", "Z_5", "B-2", "C.4", "a-6"}
	for _, id := range ids {
		n.send(n.sponsor, &trials.RegisterBody{Trial: id, IRB: n.irb.ID, Sign: trials.Sign{Meaning: trials.Author, Reason: "registration"},
			Protocol: trials.Protocol{Digest: strings.Repeat("ab", 32), PlannedEnrolment: 3,
				Outcomes:          trials.Outcomes{Primary: []trials.Outcome{{Measure: "HbA1c change", TimeFrame: "26 weeks"}}},
				Arms:              []trials.Arm{{Name: "drug"}},
				Sites:             []trials.Site{{Name: "St Mary", Investigator: n.sponsor.ID}},
				PrimaryCompletion: "2020-01-01",
				ResearchStudy:     []byte(`{"resourceType":"ResearchStudy","status":"active"}`)}})
	}
	want := slices.Clone(ids)
	slices.Sort(want) // key order: byte order of the ids
	get := func(path string) (int, wire.TrialsReport) {
		t.Helper()
		resp, err := http.Get(n.c.Base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out wire.TrialsReport
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, out
	}
	for _, limit := range []string{"1", "2", "3", "6", "7", "8", "1000"} {
		var got []string
		pages, path := 0, "/v1/trials/report?limit="+limit
		for path != "" && pages <= len(ids) {
			code, page := get(path)
			if code != http.StatusOK {
				t.Fatalf("limit %s: %s: %d", limit, path, code)
			}
			for _, f := range page.Trials {
				got = append(got, f.ID)
				if !f.Overdue {
					t.Errorf("%s is not shown overdue", f.ID)
				}
			}
			pages++
			path = page.Next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %s: %d pages, trials %v, want %v", limit, pages, got, want)
		}
	}
	// The client follows the links; without a limit the node's default page holds them all.
	all, err := n.c.TrialsReport(n.ctx)
	if err != nil || len(all.Trials) != len(ids) || all.Next != "" {
		t.Fatalf("client: %v %d %q", err, len(all.Trials), all.Next)
	}
	page, err := n.c.TrialsReportPage(n.ctx, 2, "B-2")
	if err != nil || len(page.Trials) != 2 || page.Trials[0].ID != "C.4" || page.Trials[1].ID != "Z_5" || page.Next == "" {
		t.Fatalf("page after B-2: %v %+v", err, page)
	}
	if _, last := get("/v1/trials/report?after=m-7"); len(last.Trials) != 0 || last.Next != "" {
		t.Fatalf("after the last trial: %+v", last)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "limit=-1", "after=" + strings.Repeat("x", 65), "after=%2F"} {
		if code, _ := get("/v1/trials/report?" + q); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
}
