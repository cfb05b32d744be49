package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditindex"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// auditIndexer is implemented by a backend that keeps an audit index (a node does); without
// one, queries scan the log.
type auditIndexer interface{ AuditIndex() *auditindex.Index }

// maxRememberedQueries bounds the replay guard: queries are remembered for at most
// audit.MaxQueryAge.
const maxRememberedQueries = 1 << 17

func (s *Server) routeAudit() {
	h := &auditQueries{s: s, seen: audit.NewReplayGuard(maxRememberedQueries)}
	s.mux.HandleFunc("POST /v1/audit/query", h.query)
}

type auditQueries struct {
	s    *Server
	seen *audit.ReplayGuard
}

// query answers a signed audit query, deny by default: a request is answered only if it is
// well formed, signed by an active registered identity for this chain, unexpired, not seen
// before, and asks for nothing outside what the requester's role may see.
func (h *auditQueries) query(w http.ResponseWriter, r *http.Request) {
	q, terr := decodeSigned(w, r, "audit query", audit.DecodeQueryRequest)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	v := h.s.b.View()
	var who *audit.Requester
	if id := identity.Get(v, q.Requester); id != nil {
		who = &audit.Requester{ID: id.ID, Role: string(id.Role), Active: id.Active, SignKey: id.SignKey}
	}
	now := time.Now()
	if e := q.Authenticate(h.s.b.ChainID(), who, now); e != nil {
		writeErr(w, e)
		return
	}
	if e := q.Filter.Validate(); e != nil {
		writeErr(w, e)
		return
	}
	f, e := audit.Authorize(*who, q.Filter)
	if e != nil {
		writeErr(w, e)
		return
	}
	if e := h.seen.Admit(q, now); e != nil {
		writeErr(w, e)
		return
	}
	var ix audit.Narrower // a nil *auditindex.Index must stay a nil interface: queries then scan
	if b, ok := h.s.b.(auditIndexer); ok {
		if x := b.AuditIndex(); x != nil {
			ix = x
		}
	}
	page, err := audit.Query(v, ix, f)
	var te *tx.Error
	switch {
	case errors.As(err, &te):
		writeErr(w, te)
		return
	case err != nil:
		writeErr(w, Space.Err(CodeInternal, "audit query: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, wire.AuditQueryResponse{Height: v.Height(), LogSize: v.LogSize(), Filter: f, Events: page.Events, Next: page.Next})
}
