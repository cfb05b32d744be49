package api

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/netlimit"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Backend is what the API needs from a node (*node.Node is one). It speaks in wire types
// and the interfaces below, so the API does not depend on the node or the store it keeps.
type Backend interface {
	ChainID() string
	Status(ctx context.Context) (*wire.Status, error)
	Broadcast(ctx context.Context, raw []byte, wait bool) (wire.Result, error)
	LookupTx(ctx context.Context, hash []byte) (wire.Result, error)
	View() View
	Read(ctx context.Context, q *records.ReadRequest) (*records.Outcome, error)
	Blobs() Blobs
}

// View is the committed state at one height that the handlers read: values, prefix scans,
// the records index, the event log and proofs (*state.View is one). The domain readers (identity.Get,
// consent.List, audit.Query, ...) each take a subset of it.
type View interface {
	Height() int64
	Get(key []byte) []byte
	Iterate(prefix []byte, fn func(k, v []byte) bool)
	IterateFrom(prefix, from []byte, fn func(k, v []byte) bool)
	records.IndexIterator // the unhashed secondary index (records by patient, versions)
	LogSize() uint64
	Leaf(index uint64) ([]byte, error)
	Prove(key []byte) (*state.Proof, error)
}

// Blobs is the node's ciphertext store as the API uses it: reads, and uploads within the
// uploader's quota (*blobs.Store is one).
type Blobs interface {
	Get(d [32]byte) ([]byte, error)
	Reserve(owner string, size int64) (*blobs.Reservation, error)
}

// Server is the HTTP API.
type Server struct {
	b       Backend
	mux     *http.ServeMux
	srv     *http.Server
	Timeout time.Duration // how long a submit waits for its commit
	epcis   epcisSchema   // GS1's schema, for EPCIS captures (supply.go)

	bearer   atomic.Pointer[Bearer] // EPCIS bearer tokens (supplybearer.go); nil: none
	bearerMu sync.Mutex             // serialises captures signed for a token's identity

	verifyLimit verifyLimit // GET /epcis/verify per client address (supplyverify.go)
}

// New builds the API over a node.
func New(b Backend) *Server {
	s := &Server{b: b, mux: http.NewServeMux(), Timeout: 30 * time.Second}
	s.mux.HandleFunc("GET /v1/status", s.status)
	s.mux.HandleFunc("POST /v1/tx", s.submit)
	s.mux.HandleFunc("POST /v1/txs", s.submitBatch)
	s.mux.HandleFunc("GET /v1/tx/{hash}", s.lookupTx)
	s.mux.HandleFunc("GET /v1/identities", s.listIdentities)
	s.mux.HandleFunc("GET /v1/identities/{id}", s.getIdentity)
	s.routeRecords()
	s.routeAudit()
	s.routeNetwork()
	s.routeClaims()
	s.routeEmergency()
	s.routeSupply()
	s.routeTrials()
	s.routeRetention()
	s.routeInterchain()
	s.routeLightBlocks()
	s.routeCitations()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, Space.Err(CodeNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	s.srv = &http.Server{Handler: s.mux}
	Timeouts.Apply(s.srv)
	return s
}

// Handle mounts another handler (FHIR gateway, portal) on the server.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP lets tests drive the API without a socket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Timeouts bound each connection's life on the API, FHIR gateway and portal, so that a
// client cannot hold a connection by sending slowly or by never sending. Read and write
// allow a largest blob (records.MaxBlob, 256 MiB) at about 220 KB/s.
var Timeouts = netlimit.Timeouts{
	Header:         10 * time.Second,
	Read:           20 * time.Minute,
	Write:          20 * time.Minute,
	Idle:           90 * time.Second,
	MaxHeaderBytes: 64 << 10,
}

// Serve serves on l, with TLS when cert and key are given. It returns when Shutdown is
// called. On a netlimit.Listener, the listener learns which connections are idle.
func (s *Server) Serve(l net.Listener, certFile, keyFile string) error {
	if nl, ok := l.(*netlimit.Listener); ok {
		s.srv.ConnState = nl.ConnState
	}
	var err error
	if certFile != "" || keyFile != "" {
		err = s.srv.ServeTLS(l, certFile, keyFile)
	} else {
		err = s.srv.Serve(l)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops the server, letting in-flight requests finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// decodeJSON reads a bounded JSON request body.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) *tx.Error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2*tx.MaxTxBytes))
	if err != nil {
		return tx.Space.Err(tx.CodeTooLarge, "request body: %v", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Space.Err(CodeBadRequest, "request body is not the expected JSON: %v", err)
	}
	return nil
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	var req wire.SubmitRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeErr(w, err)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(req.Tx)
	if err != nil || len(raw) == 0 {
		writeErr(w, Space.Err(CodeBadRequest, "tx must be non-empty standard base64"))
		return
	}
	if terr := s.checkCapture(raw); terr != nil {
		writeErr(w, terr)
		return
	}
	res, ok := s.broadcast(w, r, raw, req.Wait)
	if !ok {
		return
	}
	status := http.StatusOK
	if !req.Wait {
		status = http.StatusAccepted
	}
	writeJSON(w, status, res)
}

func (s *Server) lookupTx(w http.ResponseWriter, r *http.Request) {
	h, err := hex.DecodeString(r.PathValue("hash"))
	if err != nil || len(h) != 32 {
		writeErr(w, Space.Err(CodeBadRequest, "transaction hash must be 64 hex characters"))
		return
	}
	res, err := s.b.LookupTx(r.Context(), h)
	if errors.Is(err, os.ErrNotExist) {
		writeErr(w, Space.Err(CodeNotFound, "transaction %x is not in a committed block (yet)", h))
		return
	}
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) getIdentity(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := tx.ParseSigner(id); !ok {
		writeErr(w, Space.Err(CodeBadRequest, "identity id %q must be 40 lowercase hex characters", id))
		return
	}
	v := s.b.View()
	raw := v.Get(identity.Key(id))
	if raw == nil {
		writeErr(w, identity.Space.Err(identity.CodeNotFound, "identity %s is not registered (at height %d)", id, v.Height()))
		return
	}
	ident, err := identity.Decode(raw)
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "%v", err))
		return
	}
	who, terr := s.requester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	// A patient's sponsor is a care relationship: only those who may list the patient see it,
	// and only they get the proof (which carries the whole stored value).
	entitled := identity.Sees(who, ident, func(p string) bool { return grantsTo(v, p, who) })
	shown := ident
	if !entitled {
		shown = identity.Public(ident)
	}
	resp := wire.IdentityResponse{Identity: shown, NextSequence: app.NextSequence(v, id), Height: v.Height()}
	if r.URL.Query().Get("prove") != "" {
		if !entitled {
			writeErr(w, notEntitled(who, "a proof of patient %s's registration (it names who registered them): sign the query as the patient, their registering provider, a grantee or an auditor", id))
			return
		}
		p, err := v.Prove(identity.Key(id))
		if err != nil {
			writeErr(w, Space.Err(CodeInternal, "proof: %v", err))
			return
		}
		resp.Proof, resp.Value = (*wire.Proof)(p), raw
	}
	writeJSON(w, http.StatusOK, resp)
}

// listIdentities lists the identities the signed requester may see: institutions, and the
// patients it is entitled to know of (see identity.Sees). An anonymous listing is refused.
func (s *Server) listIdentities(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	who, terr := s.signedRequester(r, v, "the list of identities (it shows which patients an institution cares for)")
	if terr != nil {
		writeErr(w, terr)
		return
	}
	var out []*identity.Identity
	keep := func(i *identity.Identity) {
		if identity.Sees(who, i, func(p string) bool { return grantsTo(v, p, who) }) {
			out = append(out, i)
		}
	}
	add := func(id string) {
		if raw := v.Get(identity.Key(id)); raw != nil {
			if i, err := identity.Decode(raw); err == nil {
				keep(i)
			}
		}
	}
	if role := r.URL.Query().Get("role"); role != "" {
		ro, err := identity.ParseRole(role)
		if err != nil {
			writeErr(w, Space.Err(CodeBadRequest, "%v", err))
			return
		}
		prefix := identity.RolePrefix(ro)
		v.Iterate(prefix, func(k, _ []byte) bool { add(string(k[len(prefix):])); return true })
	} else {
		v.Iterate(identity.Prefix, func(_, val []byte) bool {
			if i, err := identity.Decode(val); err == nil {
				keep(i)
			}
			return true
		})
	}
	if out == nil {
		out = []*identity.Identity{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"height": v.Height(), "identities": out})
}

// broadcast hands raw to the node (waiting for its block if wait) and answers a failure
// or a rejection itself; ok says the transaction was accepted (and, with wait, committed).
func (s *Server) broadcast(w http.ResponseWriter, r *http.Request, raw []byte, wait bool) (wire.Result, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	res, err := s.b.Broadcast(ctx, raw, wait)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusGatewayTimeout, wire.TxError{Error: *Space.Err(CodeTimeout, "%v", err), Hash: res.Hash})
	case errors.Is(err, wire.ErrMempool):
		writeJSON(w, http.StatusServiceUnavailable, wire.TxError{Error: *Space.Err(CodeUnavailable, "%v", err), Hash: res.Hash})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, wire.TxError{Error: *Space.Err(CodeInternal, "%v", err), Hash: res.Hash})
	case res.Code != 0:
		e := tx.Error{Codespace: res.Codespace, Code: res.Code, Message: res.Log}
		writeJSON(w, httpStatus(&e), wire.TxError{Error: e, Hash: res.Hash, Height: res.Height})
	default:
		return res, true
	}
	return res, false
}
