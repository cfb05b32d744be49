package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/wire"
)

func (s *Server) routeRetention() {
	s.mux.HandleFunc("GET /v1/retention", s.retentionPolicies)
	s.mux.HandleFunc("GET /v1/retention/due", s.retentionDue)
}

// retentionPolicies answers the periods in force to anyone: they are rules of the network.
func (s *Server) retentionPolicies(w http.ResponseWriter, _ *http.Request) {
	v := s.b.View()
	writeJSON(w, http.StatusOK, wire.RetentionPolicies{Height: v.Height(), Policies: append([]erasure.Policy{}, erasure.Policies(v)...)})
}

// retentionDue lists the records due for expiry at the last block time, in record id order
// from ?after=ID. It names records and
// their patients' pseudonyms, so it is answered only to the registrar (who sends the expiry)
// and auditors.
func (s *Server) retentionDue(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	const what = "the records due for expiry (their ids, patients and categories)"
	who, terr := s.signedRequester(r, v, "%s: sign the query as the registrar or an auditor", what)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	if who.Role != identity.Registrar && who.Role != identity.Auditor {
		writeErr(w, notEntitled(who, "%s: sign the query as the registrar or an auditor", what))
		return
	}
	limit := 1000
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 10000 {
			writeErr(w, Space.Err(CodeBadRequest, "limit %q: give 1 to 10000", q))
			return
		}
		limit = n
	}
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	due, held := erasure.FindDue(v, st.BlockTime, r.URL.Query().Get("after"), limit+1)
	out := wire.RetentionDue{Height: v.Height(), At: st.BlockTime, Due: []*erasure.Due{}, Held: []*erasure.Due{}}
	if len(due) > limit {
		due, out.More = due[:limit], true
		last := due[limit-1].Record // the next page starts after it: its held records are its own
		held = slices.DeleteFunc(held, func(d *erasure.Due) bool { return d.Record > last })
	}
	out.Due = append(out.Due, due...)
	out.Held = append(out.Held, held...)
	writeJSON(w, http.StatusOK, out)
}
