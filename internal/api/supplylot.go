package api

import (
	"cmp"
	"net/http"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// traceLot answers GET /epcis/lots/{lot}/trace (the lot's LGTIN URI or GS1 Digital Link
// with its lot, path-escaped): one page of the lot's packs the signer may trace
// (supply.TraceLot), each with its record, the units it is inside and the latest event
// of each, proven against the committed app hash, and the lot's own record (or the proof
// that it has none) when the signer may trace it. after= goes on from the previous page's next; limit= is at most
// supply.MaxLotPacks.
func (s *Server) traceLot(w http.ResponseWriter, r *http.Request) {
	lot := supply.CanonicalID(r.PathValue("lot"))
	if lot == "" {
		writeErr(w, Space.Err(CodeBadRequest, "the path must name a lot: urn:epc:class:lgtin:CP.IR.LOT or a GS1 Digital Link with its GTIN and lot (/01/GTIN/10/LOT), path-escaped"))
		return
	}
	q := r.URL.Query()
	limit, err := strconv.Atoi(cmp.Or(q.Get("limit"), strconv.Itoa(supply.MaxLotPacks)))
	if err != nil || limit < 1 || limit > supply.MaxLotPacks {
		writeErr(w, Space.Err(CodeBadRequest, "limit=%q must be 1 to %d", q.Get("limit"), supply.MaxLotPacks))
		return
	}
	after := supply.CanonicalID(q.Get("after"))
	if q.Get("after") != "" && after == "" {
		writeErr(w, Space.Err(CodeBadRequest, "after=%q must be the identifier of a pack (the next of the previous page)", q.Get("after")))
		return
	}
	v := s.b.View()
	who, terr := s.epcisRequester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	if who == nil || !who.Active || !identity.TradingPartner(who.Role) {
		writeErr(w, notEntitled(who, "the packs of a lot: a partner sees those it owned or received, a regulator all"))
		return
	}
	tr := supply.TraceLot(v, who, lot, after, limit)
	resp := wire.LotTraceResponse{Lot: lot, Height: v.Height(), Next: tr.Next, Packs: []wire.ProvenPack{}}
	if !tr.RecordHidden {
		val, p, ok := s.prove(w, v, supply.ItemKey(lot))
		if !ok {
			return
		}
		resp.Record, resp.AppHash = &wire.ProvenItem{Item: tr.Record, Value: val, Proof: p}, p.AppHash
	}
	for _, pk := range tr.Packs {
		var pp wire.ProvenPack
		for i, it := range append([]*supply.Item{pk.Item}, pk.Within...) {
			val, p, ok := s.prove(w, v, supply.ItemKey(it.ID))
			if !ok {
				return
			}
			if i == 0 {
				pp.Item = wire.ProvenItem{Item: it, Value: val, Proof: p}
			} else {
				pp.Within = append(pp.Within, wire.ProvenItem{Item: it, Value: val, Proof: p})
			}
			if len(it.Events) == 0 {
				continue
			}
			d := it.Events[len(it.Events)-1]
			ev := supply.GetEvent(v, d)
			eval, ep, ok := s.prove(w, v, supply.EventKey(d))
			if !ok || ev == nil {
				if ok {
					writeErr(w, Space.Err(CodeInternal, "event %s of %s is not stored", d, it.ID))
				}
				return
			}
			pp.Last = append(pp.Last, wire.ProvenEvent{HashID: ev.HashID, Event: ev, Value: eval, Proof: ep})
		}
		resp.Packs = append(resp.Packs, pp)
	}
	writeJSON(w, http.StatusOK, resp)
}
