package api

import (
	"net/http"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/claims"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

func (s *Server) routeClaims() {
	h := &claimQueries{s: s, seen: map[[32]byte]int64{}}
	s.mux.HandleFunc("GET /v1/insurers/{id}/plans", s.listPlans)
	s.mux.HandleFunc("GET /v1/insurers/{id}/plans/{plan}", s.getPlan)
	s.mux.HandleFunc("POST /v1/claims/query", h.query)
}

// Plans are public rules: anyone may read them, as anyone may read the contract's code.
func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	ins := r.PathValue("id")
	out := []wire.PlanSummary{}
	p := claims.PlanPrefix(ins)
	v.Iterate(p, func(k, _ []byte) bool {
		id := string(k[len(p):])
		if pl := claims.PlanVersion(v, ins, id, claims.PlanHead(v, ins, id)); pl != nil {
			out = append(out, wire.PlanSummary{ID: id, Name: pl.Name, Version: pl.Version})
		}
		return true
	})
	writeJSON(w, http.StatusOK, map[string]any{"height": v.Height(), "plans": out})
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	vs := claims.PlanVersions(v, r.PathValue("id"), r.PathValue("plan"))
	if len(vs) == 0 {
		writeErr(w, claims.Space.Err(claims.CodeNotFound, "insurer %s has published no plan %q (at height %d)", r.PathValue("id"), r.PathValue("plan"), v.Height()))
		return
	}
	writeJSON(w, http.StatusOK, wire.PlanResponse{Height: v.Height(), Versions: vs})
}

type claimQueries struct {
	s    *Server
	mu   sync.Mutex
	seen map[[32]byte]int64 // query hash -> its expiry (unix seconds)
}

// maxRememberedClaimQueries bounds the replay guard; a full guard refuses queries until some
// expire rather than forgetting unexpired ones.
const maxRememberedClaimQueries = 1 << 16

func (h *claimQueries) admit(q *claims.Query, now time.Time) *tx.Error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.seen) >= maxRememberedClaimQueries {
		for k, exp := range h.seen {
			if exp < now.Unix() {
				delete(h.seen, k)
			}
		}
		if len(h.seen) >= maxRememberedClaimQueries {
			return Space.Err(CodeUnavailable, "too many claims queries in flight; retry shortly")
		}
	}
	k := q.Hash()
	if _, dup := h.seen[k]; dup {
		return tx.Space.Err(tx.CodeBadSequence, "this claims query was already answered; sign a new one")
	}
	h.seen[k] = q.NotAfter
	return nil
}

// query answers a signed claims query for a party to the claims it names.
func (h *claimQueries) query(w http.ResponseWriter, r *http.Request) {
	q, terr := decodeSigned(w, r, "claims query", claims.DecodeQuery)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	v := h.s.b.View()
	who := identity.Get(v, q.Requester)
	now := time.Now()
	if e := q.Authenticate(h.s.b.ChainID(), who, now); e != nil {
		writeErr(w, e)
		return
	}
	if e := h.admit(q, now); e != nil {
		writeErr(w, e)
		return
	}
	a, e := claims.Respond(v, who, q)
	if e != nil {
		writeErr(w, e)
		return
	}
	a.Height = v.Height()
	writeJSON(w, http.StatusOK, a)
}
