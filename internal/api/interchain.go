package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/tx"
)

func (s *Server) routeInterchain() {
	s.mux.HandleFunc("GET /v1/interchain/clients/{id}", s.interchainClient)
	s.mux.HandleFunc("POST /v1/interchain/clients/{id}/check", s.interchainCheck)
}

// interchainClient answers a light client of another chain and its latest verified header
// to anyone: which chains this one follows, and how far, is a rule of the network. With
// ?below=H it adds the highest header verified below the counterparty's height H, which a
// relayer filling in header H verifies from.
func (s *Server) interchainClient(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	var info *interchain.ClientInfo
	var err *tx.Error
	if q := r.URL.Query().Get("below"); q != "" {
		h, perr := strconv.ParseInt(q, 10, 64)
		if perr != nil || h < 1 {
			writeErr(w, Space.Err(CodeBadRequest, "below=%q must be a height of the other chain (1 or above)", q))
			return
		}
		info, err = interchain.InfoBelow(v, v.Height(), r.PathValue("id"), h)
	} else {
		info, err = interchain.Info(v, v.Height(), r.PathValue("id"))
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// interchainCheck checks a proof of the counterparty's state against the client, as a
// transaction citing it would: a relayer or a client asks before it submits.
func (s *Server) interchainCheck(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, tx.MaxTxBytes))
	if err != nil {
		writeErr(w, Space.Err(CodeBadRequest, "request body: %v", err))
		return
	}
	var q interchain.CheckRequest
	if err := json.Unmarshal(body, &q); err != nil {
		writeErr(w, Space.Err(CodeBadRequest, "request body is not a proof check: %v", err))
		return
	}
	v := s.b.View()
	res, terr := interchain.Check(v, v.Height(), r.PathValue("id"), &q)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
