package api

import (
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/validators"
	"github.com/ehrchain/ehrchain/internal/wire"
)

func (s *Server) routeNetwork() {
	s.mux.HandleFunc("GET /v1/validators", s.listValidators)
	s.mux.HandleFunc("GET /v1/blobs/{digest}", s.getBlob)
}

func (s *Server) listValidators(w http.ResponseWriter, _ *http.Request) {
	v := s.b.View()
	out := wire.ValidatorList{Height: v.Height(), Validators: validators.List(v)}
	if out.Validators == nil {
		out.Validators = []*validators.Validator{}
	}
	writeJSON(w, http.StatusOK, out)
}

// getBlob serves a blob to a peer node replicating it. Users get ciphertext only through
// audited reads (POST /v1/read), so the request must be signed by the p2p key of a node this
// node lists as a peer.
func (s *Server) getBlob(w http.ResponseWriter, r *http.Request) {
	d, err := hex.DecodeString(r.PathValue("digest"))
	if err != nil || len(d) != 32 {
		writeErr(w, Space.Err(CodeBadRequest, "blob digest must be 64 hex characters (SHA-256 of the ciphertext)"))
		return
	}
	id, err := blobs.CheckFetch(s.b.ChainID(), [32]byte(d), r.Header, time.Now())
	if err != nil {
		writeErr(w, Space.Err(CodeForbidden, "blobs are served only to peer nodes replicating them (users read through POST /v1/read): %v", err))
		return
	}
	if p, ok := s.b.(interface{ BlobPeer(id string) bool }); !ok || !p.BlobPeer(id) {
		writeErr(w, Space.Err(CodeForbidden, "node %s is not one of this node's peers", id))
		return
	}
	b, err := s.b.Blobs().Get([32]byte(d))
	switch {
	case errors.Is(err, blobs.ErrNotFound):
		writeErr(w, Space.Err(CodeNotFound, "this node does not hold blob %x", d))
		return
	case err != nil:
		writeErr(w, Space.Err(CodeInternal, "blob %x: %v", d, err))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
