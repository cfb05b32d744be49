package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ehrchain/ehrchain/internal/trials"
)

// TrialReport is GET /v1/trials/{id}/report: a trial's transparency report at Height,
// every public state value its findings rest on with a proof against the app hash at
// Height, and the enrolment activity counted without participant ids. Verify checks it
// offline and recomputes the report from the proven values.
//
// What the app hash does not cover, and Verify therefore takes as given: BlockTime (the
// node's last block time, which "overdue" is judged at; Verify checks it is not before any
// proven signature) and Activity (the enrolment records name participants, so they are not
// proven; Verify checks the activity against the proven counts, and no finding depends on
// it).
type TrialReport struct {
	Height    int64           `json:"height"`
	BlockTime time.Time       `json:"block_time"`
	AppHash   []byte          `json:"app_hash"` // what the node says the state at Height hashes to
	Report    *trials.Report  `json:"report"`
	Activity  trials.Activity `json:"activity"`
	Values    []ProvenValue   `json:"values"`
	// TimeProof (asked for with ?prove_time=1) proves BlockTime: the headers of blocks
	// Height and Height+1, checked against a trusted hash of block Height+1.
	TimeProof *trials.BlockTimeProof `json:"time_proof,omitempty"`
}

// ProvenValue is one state value and its proof.
type ProvenValue struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
	Proof *Proof `json:"proof"`
}

// provenReader answers the proven values and notes every key asked for that was not proven.
type provenReader struct {
	values  map[string][]byte
	missing []string
}

func (r *provenReader) Get(key []byte) []byte {
	v, ok := r.values[string(key)]
	if !ok {
		r.missing = append(r.missing, string(key))
	}
	return v
}

// Verify checks the report offline against the app hash the caller trusts: every value's
// proof verifies at the report's height, the values hold every record the report is built
// from, the activity agrees with the proven counts, and the report is exactly what
// trials.BuildReport makes of the proven values at the report's block time (so a changed
// finding, value or proof fails).
func (r *TrialReport) Verify(appHash []byte) error {
	if r.Report == nil {
		return errors.New("the answer holds no report")
	}
	rd := &provenReader{values: map[string][]byte{}}
	for _, v := range r.Values {
		if v.Proof != nil && v.Proof.Height != r.Height {
			return fmt.Errorf("%s: proven at height %d, the report is at %d", v.Key, v.Proof.Height, r.Height)
		}
		if err := v.Proof.Verify(appHash, []byte(v.Key), v.Value); err != nil {
			return fmt.Errorf("%s: %w", v.Key, err)
		}
		rd.values[v.Key] = v.Value
	}
	facts, err := trials.LoadReportFacts(rd, r.Report.Trial)
	if len(rd.missing) > 0 {
		return fmt.Errorf("the report rests on %s, which the answer does not prove", rd.missing[0])
	}
	if err != nil {
		return err
	}
	if facts == nil {
		return fmt.Errorf("trial %s is not registered in the proven state", r.Report.Trial)
	}
	if err := r.Activity.Consistent(facts.Trial); err != nil {
		return err
	}
	if latest := latestSignature(facts); latest.After(r.BlockTime) {
		return fmt.Errorf("block time %s is before a proven signature at %s", r.BlockTime.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339))
	}
	want := trials.BuildReport(facts, r.Activity, r.Height, r.BlockTime)
	a, errA := json.Marshal(want)
	b, errB := json.Marshal(r.Report)
	if errA != nil || errB != nil {
		return fmt.Errorf("the report does not encode: %v", errors.Join(errA, errB))
	}
	if !bytes.Equal(a, b) {
		return fmt.Errorf("the report is not what its proven records give: %s", firstDifference(want, r.Report))
	}
	return nil
}

// latestSignature is the time of the newest signed act among the facts.
func latestSignature(f *trials.ReportFacts) time.Time {
	var t time.Time
	later := func(s trials.Signature) {
		if s.Time.After(t) {
			t = s.Time
		}
	}
	for _, v := range f.Versions {
		later(v.Signature)
	}
	for _, d := range f.Decisions {
		later(d.Signature)
	}
	for _, c := range f.ConsentForms {
		later(c.Signature)
	}
	for _, x := range f.Exports {
		later(x.Signature)
	}
	for _, p := range f.Postings {
		later(p.Signature)
	}
	return t
}

// firstDifference names the first finding that differs, or says the rest of the report does.
func firstDifference(want, got *trials.Report) string {
	for i := range max(len(want.Findings), len(got.Findings)) {
		if i >= len(want.Findings) {
			return fmt.Sprintf("finding %d (%s) is not one of them", i+1, got.Findings[i].Rule)
		}
		if i >= len(got.Findings) {
			return fmt.Sprintf("finding %d (%s %s) is left out", i+1, want.Findings[i].Rule, want.Findings[i].Status)
		}
		a, _ := json.Marshal(want.Findings[i])
		b, _ := json.Marshal(got.Findings[i])
		if !bytes.Equal(a, b) {
			return fmt.Sprintf("finding %d: the records give %s %s (%s), the report says %s %s (%s)", i+1,
				want.Findings[i].Rule, want.Findings[i].Status, want.Findings[i].Detail, got.Findings[i].Rule, got.Findings[i].Status, got.Findings[i].Detail)
		}
	}
	return "the summary, counts or timeline differ"
}

// TrialFindings is one trial's line in the regulator's cross-trial view: how many findings
// of each rule are violations. Each count is the trial's report's (GET
// /v1/trials/{id}/report, which proves it).
type TrialFindings struct {
	ID              string `json:"id"`
	Title           string `json:"title,omitempty"`
	Sponsor         string `json:"sponsor"`
	Enrolled        uint32 `json:"enrolled"`
	ResultsDue      string `json:"results_due,omitempty"`
	Overdue         bool   `json:"overdue"`          // results overdue at the block time
	Late            bool   `json:"late"`             // results posted after the deadline
	OutcomeSwitches int    `json:"outcome_switches"` // amendments that switched primary outcomes after enrolment
	Discrepancies   int    `json:"discrepancies"`    // reported outcomes departing from the pre-specified ones
	DeadlineMoved   int    `json:"deadline_moved"`
	UnmatchedData   int    `json:"unmatched_datasets"` // analysis datasets matching no export
	Violations      int    `json:"violations"`
}

// TrialsReport is GET /v1/trials/report: the regulator's view across all trials.
type TrialsReport struct {
	Height    int64           `json:"height"`
	BlockTime time.Time       `json:"block_time"`
	Trials    []TrialFindings `json:"trials"`
	Next      string          `json:"next,omitempty"` // the next page's path; empty on the last page
}

// FindingsOf summarises one report for the cross-trial view.
func FindingsOf(r *trials.Report) TrialFindings {
	v := trials.StatusViolation
	out := TrialFindings{ID: r.Trial, Title: r.Title, Sponsor: r.Sponsor, Enrolled: r.Enrolled, ResultsDue: r.ResultsDue,
		OutcomeSwitches: r.Count(trials.RuleOutcomeSwitch, v), Discrepancies: r.Count(trials.RuleOutcomes, v),
		DeadlineMoved: r.Count(trials.RuleDeadlineMoved, v), UnmatchedData: r.Count(trials.RuleDataset, v), Violations: r.Violations}
	for _, f := range r.Findings {
		if f.Rule == trials.RuleResultsDue && f.Status == v {
			out.Overdue, out.Late = f.Kind == trials.KindOverdue, f.Kind == trials.KindLate
		}
	}
	return out
}
