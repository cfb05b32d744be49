package api

import (
	"net/http"

	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

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
