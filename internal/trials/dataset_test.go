package trials

import (
	"strings"
	"testing"
	"time"
)

// TestBuildDataset: one case a line. Each observation is kept only if recorded by the
// dataset's height, its participant has not withdrawn and the reader may read it.
func TestBuildDataset(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	a := &Enrolment{Participant: "pat-a", Arm: "drug", Code: ParticipantCode("T", "pat-a", "tx1")}
	b := &Enrolment{Participant: "pat-b", Arm: "placebo", Code: ParticipantCode("T", "pat-b", "tx2")}
	gone := &Enrolment{Participant: "pat-c", Arm: "drug", Code: "P-c", Withdrawal: &Withdrawal{Height: 9}}
	obs := func(n uint32, p string, h int64) *Observation {
		return &Observation{Number: n, Participant: p, Record: "rec-of-" + p, Height: h, Time: t0, Category: "general", Digest: strings.Repeat("a", 64)}
	}
	for _, tc := range []struct {
		name  string
		facts []DatasetFact
		asOf  int64
		want  string // participant codes of the rows kept, in order
		parts uint32
	}{
		{"readable observations are kept in order", []DatasetFact{{obs(1, "pat-a", 5), a, true}, {obs(2, "pat-b", 6), b, true}, {obs(3, "pat-a", 7), a, true}}, 10, a.Code + " " + b.Code + " " + a.Code, 2},
		{"an observation the reader may not read is left out", []DatasetFact{{obs(1, "pat-a", 5), a, false}, {obs(2, "pat-b", 6), b, true}}, 10, b.Code, 1},
		{"a withdrawn participant is left out entirely", []DatasetFact{{obs(1, "pat-c", 5), gone, true}, {obs(2, "pat-b", 6), b, true}}, 10, b.Code, 1},
		{"an observation after the dataset's height is left out", []DatasetFact{{obs(1, "pat-a", 5), a, true}, {obs(2, "pat-b", 11), b, true}}, 10, a.Code, 1},
		{"no observation: an empty dataset", nil, 10, "", 0},
	} {
		d := BuildDataset("T", tc.asOf, tc.facts)
		var got []string
		for _, r := range d.Rows {
			got = append(got, r.Participant)
		}
		if strings.Join(got, " ") != tc.want || d.Participants != tc.parts || d.Records != uint32(len(d.Rows)) {
			t.Errorf("%s: rows %v, %d participants, %d records", tc.name, got, d.Participants, d.Records)
		}
		file := string(d.Encode())
		for _, id := range []string{"pat-a", "pat-b", "pat-c", "rec-of-"} {
			if strings.Contains(file, id) {
				t.Errorf("%s: the dataset file holds %q: %s", tc.name, id, file)
			}
		}
		if again := BuildDataset("T", tc.asOf, tc.facts); DatasetDigest(again.Encode()) != DatasetDigest(d.Encode()) {
			t.Errorf("%s: the same facts built two datasets", tc.name)
		}
	}
	if ParticipantCode("T", "pat-a", "tx1") == ParticipantCode("U", "pat-a", "tx1") {
		t.Error("one participant has the same code in two trials")
	}
}
