package api

import (
	"cmp"
	"net/http"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/identity"
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
	who, terr := s.requester(r, v)
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

// Paging of suspect listings.
const (
	defaultSuspectPage = 100
	maxSuspectPage     = 1000
)

// suspects lists suspect-product events (DSCSA's notifications of illegitimate product):
// a regulator sees all of them, a trading partner those that involve it (it captured the
// event, or owned or was to receive an item it names). Paged by after=SEQ and limit=N.
func (s *Server) suspects(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := strconv.ParseUint(cmp.Or(q.Get("after"), "0"), 10, 64)
	if err != nil {
		writeErr(w, Space.Err(CodeBadRequest, "after=%q must be the sequence number of a suspect event (the next of the previous page)", q.Get("after")))
		return
	}
	limit, err := strconv.Atoi(cmp.Or(q.Get("limit"), strconv.Itoa(defaultSuspectPage)))
	if err != nil || limit < 1 || limit > maxSuspectPage {
		writeErr(w, Space.Err(CodeBadRequest, "limit=%q must be 1 to %d", q.Get("limit"), maxSuspectPage))
		return
	}
	v := s.b.View()
	who, terr := s.requester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	var (
		list []*supply.Suspect
		more bool
	)
	switch {
	case who == nil:
		writeErr(w, notEntitled(nil, "suspect-product events"))
		return
	case who.Active && who.Role == identity.Regulator:
		list, more = supply.SuspectsAfter(v, after, limit)
	case who.Active && identity.TradingPartner(who.Role):
		list, more = supply.SuspectsOf(v, who.ID, after, limit)
	default:
		writeErr(w, notEntitled(who, "suspect-product events: regulators see all of them, a trading partner those that involve it"))
		return
	}
	resp := wire.SuspectsResponse{Height: v.Height(), Suspects: list}
	if resp.Suspects == nil {
		resp.Suspects = []*supply.Suspect{}
	}
	if more && len(list) > 0 {
		resp.Next = strconv.FormatUint(list[len(list)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, resp)
}

// verifyCode answers whether the pack a GS1 Digital Link or DataMatrix element string
// names is genuine, unknown, suspect, recalled, expired or dispensed (supply.Judge), with
// proofs of the public records judged. It is open to anyone (a patient scanning a pack)
// and shows no trading partner's data.
func (s *Server) verifyCode(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("code")
	if raw == "" {
		writeErr(w, Space.Err(CodeBadRequest, "code= must be a GS1 Digital Link URI or a DataMatrix element string such as (01)<GTIN>(21)<serial>(10)<lot>(17)<YYMMDD>"))
		return
	}
	code, err := supply.ParseCode(raw)
	if err != nil {
		writeErr(w, Space.Err(CodeBadRequest, "%v", err))
		return
	}
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	v := s.b.View()
	resp := wire.VerifyResponse{Code: code, Item: code.ItemID(), Height: v.Height(), BlockTime: st.BlockTime}
	val, p, ok := s.prove(w, v, supply.PublicKey(resp.Item))
	if !ok {
		return
	}
	resp.Value, resp.Proof = val, p
	item, err := supply.DecodePublic(val)
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "%v", err))
		return
	}
	resp.Public = item
	var lot *supply.Public
	if item != nil && item.Lot != "" {
		resp.Lot = item.Lot
		if resp.LotValue, resp.LotProof, ok = s.prove(w, v, supply.PublicKey(item.Lot)); !ok {
			return
		}
		if lot, err = supply.DecodePublic(resp.LotValue); err != nil {
			writeErr(w, Space.Err(CodeInternal, "%v", err))
			return
		}
		resp.LotPublic = lot
	}
	resp.Verdict = supply.Judge(code, item, lot, st.BlockTime)
	writeJSON(w, http.StatusOK, resp)
}
