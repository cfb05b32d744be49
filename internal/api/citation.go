package api

import (
	"net/http"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/records"
)

func (s *Server) routeCitations() {
	s.mux.HandleFunc("GET /v1/records/{id}/citations", s.recordCitations)
}

// recordCitations answers the supply-chain dispenses a record cites, each with the proof
// of its state value against the app hash. A citation ties a patient's record to a pack,
// so it is answered, like the record itself, to a signed query by the record's patient or
// author, or by the registrar or an auditor.
func (s *Server) recordCitations(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	id := r.PathValue("id")
	who, terr := s.signedRequester(r, v, "record %s's citations", id)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	var m *records.Meta
	if h := records.Head(v, id); h > 0 {
		m = records.Version(v, id, h)
	}
	if m == nil {
		writeErr(w, Space.Err(CodeNotFound, "record %s does not exist", id))
		return
	}
	if !who.Active || (who.ID != m.Patient && who.ID != m.Author && !identity.SeesAll(who)) {
		writeErr(w, notEntitled(who, "record %s's citations: sign as its patient, its author, the registrar or an auditor", id))
		return
	}
	ans := crosstx.CitationsAnswer{Height: v.Height(), Record: id, Citations: []crosstx.ProvenCitation{}}
	for _, c := range interchain.Citations(v, id) {
		val, p, ok := s.prove(w, v, crosstx.CitationKey(id, c.Digest))
		if !ok {
			return
		}
		ans.AppHash = p.AppHash
		ans.Citations = append(ans.Citations, crosstx.ProvenCitation{Citation: c, Value: val, Proof: *p})
	}
	writeJSON(w, http.StatusOK, ans)
}
