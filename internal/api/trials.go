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
// public registry, and so are its IRB-approved consent forms. Who is enrolled is not: the
// public answers count enrolments and never list them; the enrolments (with consents and
// withdrawals) and the sponsor's dataset answer signed queries only.
func (s *Server) routeTrials() {
	s.mux.HandleFunc("GET /v1/trials", s.listTrials)
	s.mux.HandleFunc("GET /v1/trials/report", s.trialsReport)
	s.mux.HandleFunc("GET /v1/trials/{id}/report", s.trialReport)
	s.mux.HandleFunc("GET /v1/trials/{id}", s.getTrial)
	s.mux.HandleFunc("GET /v1/trials/{id}/consent-forms", s.trialConsentForms)
	s.mux.HandleFunc("GET /v1/trials/{id}/enrolments", s.trialEnrolments)
	s.mux.HandleFunc("GET /v1/trials/{id}/dataset", s.trialDataset)
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
		ConsentForms: trials.ConsentForms(v, t), Exports: trials.Exports(v, t)})
}

// trialOr404 loads a trial or writes the not-registered error.
func trialOr404(w http.ResponseWriter, v View, id string) *trials.Trial {
	t := trials.Get(v, id)
	if t == nil {
		writeErr(w, trials.Space.Err(trials.CodeNotRegistered, "trial %s is not registered (at height %d)", id, v.Height()))
	}
	return t
}

func (s *Server) trialConsentForms(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	t := trialOr404(w, v, r.PathValue("id"))
	if t == nil {
		return
	}
	writeJSON(w, http.StatusOK, wire.TrialConsentForms{Height: v.Height(), Trial: t.ID, InForce: t.ConsentForm, ConsentForms: trials.ConsentForms(v, t)})
}

// trialEnrolments answers the enrolments the signed requester may see; ?withdrawn=1 keeps
// the withdrawals only.
func (s *Server) trialEnrolments(w http.ResponseWriter, r *http.Request) {
	var withdrawnOnly bool
	switch q := r.URL.Query().Get("withdrawn"); q {
	case "", "0":
	case "1":
		withdrawnOnly = true
	default:
		writeErr(w, Space.Err(CodeBadRequest, "withdrawn=%q: use withdrawn=1 for the withdrawals only, or leave it out", q))
		return
	}
	v := s.b.View()
	who, terr := s.requester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	t := trialOr404(w, v, r.PathValue("id"))
	if t == nil {
		return
	}
	all, own, ok := trials.EnrolmentsVisible(t, trials.GetVersion(v, t.ID, t.Head), who)
	if !ok {
		writeErr(w, notEntitled(who, "trial %s's enrolments (they name its participants): sign the query as the sponsor, the IRB, an auditor, a site investigator or a participant", t.ID))
		return
	}
	out := wire.TrialEnrolments{Height: v.Height(), Trial: t.ID, Enrolments: []*trials.Enrolment{}}
	keep := func(e *trials.Enrolment) {
		if e != nil && (!withdrawnOnly || e.Withdrawal != nil) {
			out.Enrolments = append(out.Enrolments, e)
		}
	}
	if all {
		p := trials.EnrolPrefix(t.ID)
		v.Iterate(p, func(k, _ []byte) bool {
			keep(trials.GetEnrolment(v, t.ID, strings.TrimPrefix(string(k), string(p))))
			return true
		})
	} else {
		keep(trials.GetEnrolment(v, t.ID, own))
	}
	writeJSON(w, http.StatusOK, out)
}

// trialDataset answers the trial's sponsor with the dataset it may read now: what it
// exports (tx 89, which the contract checks against the same rule at its block).
func (s *Server) trialDataset(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	v := s.b.View()
	who, terr := s.requester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	t := trialOr404(w, v, r.PathValue("id"))
	if t == nil {
		return
	}
	if who == nil || who.ID != t.Sponsor || !who.Active {
		writeErr(w, notEntitled(who, "trial %s's dataset: sign the query as its sponsor", t.ID))
		return
	}
	d := trials.BuildDataset(t.ID, v.Height(), trials.DatasetFacts(v, t, who, st.BlockTime))
	writeJSON(w, http.StatusOK, wire.TrialDataset{Height: v.Height(), BlockTime: st.BlockTime, Dataset: d,
		Digest: trials.DatasetDigest(d.Encode()), Exports: trials.Exports(v, t)})
}
