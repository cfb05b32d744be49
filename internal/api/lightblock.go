package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// lightBlocks is the backend ability GET /v1/lightblocks needs (*node.Node has it): a
// block's signed header, commit and validator set. Height 0 is the newest; a refusal
// (future, pruned) is a *tx.Error, anything else the node's fault.
type lightBlocks interface {
	LightBlock(height int64) (*wire.LightBlock, error)
}

func (s *Server) routeLightBlocks() {
	s.mux.HandleFunc("GET /v1/lightblocks/{height}", s.lightBlock)
}

// lightBlock answers a block's light block to anyone: headers, commits and validator sets
// are what every peer of the network already gossips, and a relayer of another chain
// needs them without an identity here.
func (s *Server) lightBlock(w http.ResponseWriter, r *http.Request) {
	lbs, ok := s.b.(lightBlocks)
	if !ok {
		writeErr(w, Space.Err(CodeUnavailable, "this node does not serve light blocks"))
		return
	}
	var h int64
	if p := r.PathValue("height"); p != "latest" {
		var err error
		if h, err = strconv.ParseInt(p, 10, 64); err != nil || h < 1 {
			writeErr(w, Space.Err(CodeBadRequest, "height %q must be a block height (1 or above) or \"latest\"", p))
			return
		}
	}
	lb, err := lbs.LightBlock(h)
	var te *tx.Error
	switch {
	case errors.As(err, &te):
		writeErr(w, te)
	case err != nil:
		writeErr(w, Space.Err(CodeInternal, "light block %d: %v", h, err))
	default:
		writeJSON(w, http.StatusOK, lb)
	}
}
