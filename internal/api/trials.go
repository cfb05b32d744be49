package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Trial registrations are public: anyone may read them, unsigned, as anyone may read a
// public registry. Who is enrolled is not: the answers count enrolments and never list them.
func (s *Server) routeTrials() {
	s.mux.HandleFunc("GET /v1/trials", s.listTrials)
	s.mux.HandleFunc("GET /v1/trials/{id}", s.getTrial)
}

// trialSummary is a trial's public summary at block time now.
func trialSummary(v View, t *trials.Trial, now time.Time) wire.TrialSummary {
	out := wire.TrialSummary{ID: t.ID, Sponsor: t.Sponsor, IRB: t.IRB, RegisteredAt: t.RegisteredAt,
		Version: t.Head, Approved: t.Approved != 0 && t.Approved == t.Head, ApprovedVersion: t.Approved,
		Enrolled: t.Enrolled, OutcomeSwitches: t.OutcomeSwitches, ResultsPosted: t.Results > 0,
		Discrepancies: t.Discrepancies, PrimaryCompletion: t.PrimaryCompletion, Overdue: trials.Overdue(t, now)}
	if due, ok := trials.ResultsDue(t.PrimaryCompletion); ok {
		out.ResultsDue = due.Format(time.DateOnly)
	}
	if ver := trials.GetVersion(v, t.ID, t.Head); ver != nil {
		var study struct {
			Title  string `json:"title"`
			Status string `json:"status"`
		}
		// The contract checked the shape; a title of another type is simply not shown.
		_ = json.Unmarshal(ver.ResearchStudy, &study)
		out.Title, out.Status = study.Title, study.Status
	}
	return out
}

func (s *Server) listTrials(w http.ResponseWriter, r *http.Request) {
	var overdueOnly bool
	switch q := r.URL.Query().Get("overdue"); q {
	case "", "0":
	case "1":
		overdueOnly = true
	default:
		writeErr(w, Space.Err(CodeBadRequest, "overdue=%q: use overdue=1 for the overdue trials only, or leave it out", q))
		return
	}
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	v := s.b.View()
	out := wire.Trials{Height: v.Height(), BlockTime: st.BlockTime, Trials: []wire.TrialSummary{}}
	v.Iterate(trials.Prefix, func(k, _ []byte) bool {
		t := trials.Get(v, strings.TrimPrefix(string(k), string(trials.Prefix)))
		if t == nil {
			return true
		}
		if sum := trialSummary(v, t, st.BlockTime); !overdueOnly || sum.Overdue {
			out.Trials = append(out.Trials, sum)
		}
		return true
	})
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getTrial(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	v := s.b.View()
	id := r.PathValue("id")
	t := trials.Get(v, id)
	if t == nil {
		writeErr(w, trials.Space.Err(trials.CodeNotRegistered, "trial %s is not registered (at height %d)", id, v.Height()))
		return
	}
	writeJSON(w, http.StatusOK, wire.TrialResponse{Height: v.Height(), BlockTime: st.BlockTime,
		Summary: trialSummary(v, t, st.BlockTime), Trial: t,
		Versions: trials.Versions(v, t), Decisions: trials.Decisions(v, t), Postings: trials.Postings(v, t),
		ConsentForms: trials.ConsentForms(v, t)})
}
