package api

import (
	"net/http"

	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// TraceResponse is the wire body of a trace.
type TraceResponse = wire.TraceResponse

// itemParam is the item a path names: an EPC URI or a GS1 Digital Link (path-escaped),
// canonicalised as the custody records are keyed.
func itemParam(r *http.Request) string { return supply.CanonicalID(r.PathValue("epc")) }

// traceItem answers an item's chain of custody (supply.Trace), each record and event with
// a proof against the committed app hash, to the partners in its custody and regulators
// (supply.MayTrace).
func (s *Server) traceItem(w http.ResponseWriter, r *http.Request) {
	id := itemParam(r)
	if id == "" {
		writeErr(w, Space.Err(CodeBadRequest, "the path must name an item: an EPC URI or a GS1 Digital Link URI, path-escaped"))
		return
	}
	v := s.b.View()
	who, terr := s.epcisRequester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	if who == nil {
		writeErr(w, notEntitled(nil, "the chain of custody of an item"))
		return
	}
	tr := supply.Trace(v, id)
	if tr == nil {
		writeErr(w, supply.Space.Err(supply.CodeNotFound, "no item %s on the ledger (at height %d)", id, v.Height()))
		return
	}
	if !supply.MayTrace(who, tr.Items[0]) {
		writeErr(w, notEntitled(who, "the chain of custody of %s: only the partners that owned it or received it, and regulators, do", id))
		return
	}
	resp := TraceResponse{Item: id, Height: v.Height(), Truncated: tr.Truncated}
	for _, it := range tr.Items {
		val, p, ok := s.prove(w, v, supply.ItemKey(it.ID))
		if !ok {
			return
		}
		resp.Items = append(resp.Items, wire.ProvenItem{Item: it, Value: val, Proof: p})
		resp.AppHash = p.AppHash
	}
	for _, st := range tr.Steps {
		val, p, ok := s.prove(w, v, supply.EventKey(st.Digest))
		if !ok {
			return
		}
		resp.Events = append(resp.Events, wire.TracedEvent{HashID: st.Event.HashID, Via: st.Via, Event: st.Event, Value: val, Proof: p})
	}
	writeJSON(w, http.StatusOK, resp)
}

// prove is key's committed value and its proof (value nil: a proof of absence).
func (s *Server) prove(w http.ResponseWriter, v View, key []byte) ([]byte, *wire.Proof, bool) {
	p, err := v.Prove(key)
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "proof of %s: %v", key, err))
		return nil, nil, false
	}
	return v.Get(key), (*wire.Proof)(p), true
}
