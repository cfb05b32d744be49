package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// epcisSchema is the node's compiled GS1 EPCIS schema; nil until configured. GS1's schema
// is not shipped with the node (docs/SUPPLY_CHAIN.md), so a node captures only once its
// operator points epcis_schema at a copy.
type epcisSchema struct {
	v atomic.Pointer[epcis.Validator]
}

func (s *Server) routeSupply() {
	s.mux.HandleFunc("POST /epcis/capture", s.capture)
	s.mux.HandleFunc("GET /epcis/events", s.queryEvents)
	s.mux.HandleFunc("GET /epcis/events/{hash}", s.epcisEvent)
	s.mux.HandleFunc("GET /epcis/items/{epc}/trace", s.traceItem)
	s.mux.HandleFunc("GET /epcis/lots/{lot}/trace", s.traceLot)
	s.mux.HandleFunc("GET /epcis/suspects", s.suspects)
	s.mux.HandleFunc("GET /epcis/releases", s.releases)
	s.mux.HandleFunc("GET /epcis/verify", s.verifyCode)
}

// ConfigureEPCIS loads and compiles the EPCIS JSON Schema at path (node config
// epcis_schema). An empty path leaves capture refused.
func (s *Server) ConfigureEPCIS(path string) error {
	if path == "" {
		s.epcis.v.Store(nil)
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("epcis_schema: %w", err)
	}
	v, err := epcis.NewValidator(b)
	if err != nil {
		return fmt.Errorf("epcis_schema %s: %w", path, err)
	}
	s.epcis.v.Store(v)
	return nil
}

// The capture bodies live in wire, shared with the client.
type (
	CaptureRequest     = wire.CaptureRequest
	CaptureResponse    = wire.CaptureResponse
	EPCISEventResponse = wire.EPCISEventResponse
)

// checkCapture validates the EPCIS document of a capture transaction against GS1's
// schema; other transactions pass. Every way of submitting a transaction goes through
// it, so no capture reaches the mempool from this node unvalidated.
func (s *Server) checkCapture(raw []byte) *tx.Error {
	env, terr := tx.Decode(raw)
	if terr != nil || env.BodyType != supply.TypeCapture {
		return nil // the node's own checks answer for a malformed transaction
	}
	b, err := supply.DecodeCapture(env.Body)
	if err != nil {
		return tx.Space.Err(tx.CodeMalformed, "malformed capture body: %v", err)
	}
	v := s.epcis.v.Load()
	if v == nil {
		return Space.Err(CodeUnavailable, "this node cannot capture EPCIS events: no EPCIS JSON Schema is configured (set epcis_schema in config/ehrchain.json to GS1's EPCIS-JSON-Schema.json)")
	}
	if err := v.Validate(b.Document); err != nil {
		return Space.Err(CodeBadRequest, "the EPCIS document does not conform to the EPCIS 2.0 JSON Schema: %v", err)
	}
	return nil
}

func (s *Server) capture(w http.ResponseWriter, r *http.Request) {
	if tok, ok := bearerToken(r); ok {
		s.captureBearer(w, r, tok)
		return
	}
	var req CaptureRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeErr(w, err)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(req.Tx)
	if err != nil || len(raw) == 0 {
		writeErr(w, Space.Err(CodeBadRequest, "tx must be a non-empty signed capture transaction in standard base64"))
		return
	}
	env, terr := tx.Decode(raw)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	if env.BodyType != supply.TypeCapture {
		writeErr(w, Space.Err(CodeBadRequest, "POST /epcis/capture takes a capture transaction (body type %d), not body type %d", supply.TypeCapture, env.BodyType))
		return
	}
	s.captureRaw(w, r, raw)
}

// captureRaw validates, submits and answers a capture transaction.
func (s *Server) captureRaw(w http.ResponseWriter, r *http.Request, raw []byte) {
	if terr := s.checkCapture(raw); terr != nil {
		writeErr(w, terr)
		return
	}
	res, ok := s.broadcast(w, r, raw, true)
	if !ok {
		return
	}
	c := supply.GetCapture(s.b.View(), strings.ToLower(res.Hash))
	if c == nil {
		writeErr(w, Space.Err(CodeInternal, "capture %s committed at height %d but its record is not in the state", res.Hash, res.Height))
		return
	}
	writeJSON(w, http.StatusOK, CaptureResponse{Hash: res.Hash, Height: res.Height, Events: c.Events})
}

// epcisEvent answers an event by its Event Hash ID (the ni: URI, path-escaped) or the
// id's 64 hex digits, to a signed query by its capturer, a partner in the custody of an
// item it names, or a regulator (supply.MayRead).
func (s *Server) epcisEvent(w http.ResponseWriter, r *http.Request) {
	h := r.PathValue("hash")
	d := supply.Digest(h)
	if d == "" && len(h) == 64 {
		d = supply.Digest(epcis.HashPrefix + strings.ToLower(h) + epcis.HashVersion)
	}
	if d == "" {
		writeErr(w, Space.Err(CodeBadRequest, "%q is not an EPCIS Event Hash ID (ni:///sha-256;<64 hex>?ver=CBV2.0) or its 64 hex digits", h))
		return
	}
	v := s.b.View()
	who, terr := s.epcisRequester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	if who == nil {
		writeErr(w, notEntitled(nil, "a captured EPCIS event"))
		return
	}
	ev := supply.GetEvent(v, d)
	if ev == nil {
		writeErr(w, supply.Space.Err(supply.CodeNotFound, "no event %s%s%s on the ledger", epcis.HashPrefix, d, epcis.HashVersion))
		return
	}
	if !supply.MayRead(who, ev, supply.Visible(v, who.ID, ev.Seq)) {
		writeErr(w, notEntitled(who, "event %s, captured by another partner (its capturer, the partners in the custody of an item it names and regulators see it)", ev.HashID))
		return
	}
	writeJSON(w, http.StatusOK, EPCISEventResponse{Event: ev, Height: v.Height()})
}
