package api

import (
	"net/http"
	"strings"

	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// The transparency report is public and unsigned like the registration it judges: its
// proven values are the trial's public records (head, versions, IRB decisions, consent
// forms, exports, postings), and the enrolment activity is counted without ids.

// readLog is a View that notes every key read, so the report proves exactly what it used.
type readLog struct {
	View
	keys []string
	seen map[string]bool
}

func (r *readLog) Get(key []byte) []byte {
	if !r.seen[string(key)] {
		r.seen[string(key)] = true
		r.keys = append(r.keys, string(key))
	}
	return r.View.Get(key)
}

// trialActivity counts a trial's enrolments, re-consents and withdrawals without ids.
func trialActivity(v View, t *trials.Trial) trials.Activity {
	var es []*trials.Enrolment
	p := trials.EnrolPrefix(t.ID)
	v.Iterate(p, func(k, _ []byte) bool {
		if e := trials.GetEnrolment(v, t.ID, strings.TrimPrefix(string(k), string(p))); e != nil {
			es = append(es, e)
		}
		return true
	})
	return trials.ActivityOf(es)
}

func (s *Server) trialReport(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	// The status after the view: its block time is not before any block the view holds.
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	id := r.PathValue("id")
	rl := &readLog{View: v, seen: map[string]bool{}}
	facts, err := trials.LoadReportFacts(rl, id)
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "%v", err))
		return
	}
	if facts == nil {
		writeErr(w, trials.Space.Err(trials.CodeNotRegistered, "trial %s is not registered (at height %d)", id, v.Height()))
		return
	}
	act := trialActivity(v, facts.Trial)
	resp := wire.TrialReport{Height: v.Height(), BlockTime: st.BlockTime, Activity: act,
		Report: trials.BuildReport(facts, act, v.Height(), st.BlockTime)}
	for _, k := range rl.keys {
		val, p, ok := s.prove(w, v, []byte(k))
		if !ok {
			return
		}
		resp.Values = append(resp.Values, wire.ProvenValue{Key: k, Value: val, Proof: p})
		resp.AppHash = p.AppHash
	}
	writeJSON(w, http.StatusOK, resp)
}

// trialsReport is the regulator's view across all trials: each trial's violations by
// rule, from the same report GET /v1/trials/{id}/report proves.
func (s *Server) trialsReport(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	out := wire.TrialsReport{Height: v.Height(), BlockTime: st.BlockTime, Trials: []wire.TrialFindings{}}
	var ferr error
	v.Iterate(trials.Prefix, func(k, _ []byte) bool {
		facts, err := trials.LoadReportFacts(v, strings.TrimPrefix(string(k), string(trials.Prefix)))
		if err != nil {
			ferr = err
			return false
		}
		if facts != nil {
			out.Trials = append(out.Trials, wire.FindingsOf(trials.BuildReport(facts, trialActivity(v, facts.Trial), v.Height(), st.BlockTime)))
		}
		return true
	})
	if ferr != nil {
		writeErr(w, Space.Err(CodeInternal, "%v", ferr))
		return
	}
	writeJSON(w, http.StatusOK, out)
}
