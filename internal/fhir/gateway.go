package fhir

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/signin"
	"github.com/ehrchain/ehrchain/internal/state"
)

// Prefix is where the gateway is mounted on the node's API.
const Prefix = "/fhir/r4"

// FHIRJSON is the media type of every answer.
const FHIRJSON = "application/fhir+json"

// Backend is what the gateway reads directly from its node: committed state (record
// metadata, grants, identities) and blobs. Everything that needs a decision or a record
// goes through the node's API (audited reads, signed transactions).
type Backend interface {
	ChainID() string
	View() *state.View
	Blobs() *blobs.Store
}

// Gateway is the FHIR R4 REST API. It acts for an authenticated caller with that caller's
// keys, which must be unlocked on this node: it signs the caller's read requests and
// transactions and decrypts what the ledger releases to them.
type Gateway struct {
	b    Backend
	c    *client.Client // the node's own API, called in-process
	mux  *http.ServeMux
	auth *authenticator
	Now  func() time.Time
	// Policy puts each resource in its consent category (default: Sensitivity).
	Policy *Policy
	// SignIn is the node's sign-in state (second factors, lockouts, sign-in log), shared with
	// the web portal. Person login is refused without it.
	SignIn *signin.Service
	// Apps are the SMART apps registered with this gateway (HOME/config/fhir-apps.json);
	// nil knows none.
	Apps *Apps
	// Shards is the network of EHR shards this node's chain is one of; nil serves this
	// chain's patients only (shards.go).
	Shards *Shards

	writeMu  sync.Map      // identity id -> *sync.Mutex: one writer per signer (sequences)
	patients *patientIndex // demographics of the Patients read or written here (memory only)
	readers  readerIndex   // who may read whose records, from the audit log (readerindex.go)
}

// New builds a gateway over a node and its API server (used in-process for every audited
// read and every transaction). keyring is where persons' keystores are found for login;
// empty disables login.
func New(b Backend, apiServer http.Handler, keyring keys.Dir) *Gateway {
	c := client.InProcess(apiServer)
	c.ChainID = b.ChainID()
	g := &Gateway{b: b, c: c, mux: http.NewServeMux(), Now: time.Now, patients: newPatientIndex()}
	g.auth = newAuthenticator(g, keyring)
	g.routes()
	return g
}

// Mount serves the gateway on the API server under /fhir/r4.
func Mount(srv *api.Server, b Backend, keyring keys.Dir) *Gateway {
	g := New(b, srv, keyring)
	srv.Handle(Prefix, g)
	srv.Handle(Prefix+"/", g)
	srv.SetBearer(g.Keystore)
	return g
}

// Keystore is the keystore a live bearer token was issued for, or nil: the API takes the
// gateway's tokens for EPCIS capture and queries (a trading partner's system).
func (g *Gateway) Keystore(token string) *keys.Keystore {
	g.auth.mu.Lock()
	defer g.auth.mu.Unlock()
	s := g.auth.sessions[token]
	if s == nil || s.grant != nil || g.Now().After(s.expires) { // a SMART app's token is for its scopes only
		return nil
	}
	return s.ks
}

// Unlock makes an identity's keys usable by the gateway (an EHR system's identity,
// unlocked when the node starts). Callers still authenticate for every session.
func (g *Gateway) Unlock(ks *keys.Keystore) { g.auth.unlock(ks) }

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.cors(w, r) {
		return
	}
	negotiate(g.mux).ServeHTTP(w, r)
}

func (g *Gateway) routes() {
	m := g.mux
	m.HandleFunc("GET "+Prefix+"/metadata", g.metadata)
	m.HandleFunc("GET "+Prefix+"/.well-known/smart-configuration", g.smartConfig)
	m.HandleFunc("POST "+Prefix+"/auth/token", g.auth.token)
	m.HandleFunc("POST "+Prefix+"/auth/login", g.auth.login)
	g.authorizeRoutes(m)
	m.HandleFunc("POST "+Prefix, g.authed(g.transaction))
	m.HandleFunc("POST "+Prefix+"/{$}", g.authed(g.transaction))
	g.researchSubjectRoutes(m)
	m.HandleFunc("POST "+Prefix+"/{type}", g.authed(g.create))
	m.HandleFunc("GET "+Prefix+"/{type}", g.authed(g.search))
	m.HandleFunc("GET "+Prefix+"/{type}/{id}", g.authed(g.read))
	m.HandleFunc("PUT "+Prefix+"/{type}/{id}", g.authed(g.update))
	m.HandleFunc("DELETE "+Prefix+"/{type}/{id}", g.authed(g.remove))
	m.HandleFunc("GET "+Prefix+"/_history", g.authed(g.systemHistory))
	m.HandleFunc("GET "+Prefix+"/{type}/_history", g.authed(g.typeHistory))
	for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		for _, p := range []string{"/_history", "/{type}/_history", "/{type}/{id}/_history"} {
			m.HandleFunc(method+" "+Prefix+p, historyNotAllowed)
		}
	}
	m.HandleFunc("GET "+Prefix+"/{type}/{id}/_history", g.authed(g.history))
	m.HandleFunc("GET "+Prefix+"/{type}/{id}/_history/{vid}", g.authed(g.vread))
	m.HandleFunc("GET "+Prefix+"/{type}/{id}/{op}", g.authed(g.instanceOp))
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeOutcome(w, http.StatusNotFound, NewOutcome("error", "not-supported", "", "no such FHIR interaction: %s %s", r.Method, r.URL.Path))
	}
	m.HandleFunc(Prefix, notFound)
	m.HandleFunc(Prefix+"/", notFound)
}

// writeResource answers with a FHIR JSON body.
func writeResource(w http.ResponseWriter, status int, v any) {
	b, err := Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception","diagnostics":"cannot encode the answer"}]}`)
	}
	w.Header().Set("Content-Type", FHIRJSON+"; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func writeOutcome(w http.ResponseWriter, status int, o *Outcome) { writeResource(w, status, o) }

// httpError is an error with its HTTP status and OperationOutcome.
type httpError struct {
	status int
	oo     *Outcome
}

func (e *httpError) Error() string { return e.oo.Issue[0].Diagnostics }

func fail(status int, code, format string, args ...any) *httpError {
	sev := "error"
	if status >= 500 {
		sev = "fatal"
	}
	return &httpError{status, NewOutcome(sev, code, "", format, args...)}
}

// writeErr maps any error to an OperationOutcome: validation, ledger rejections (with
// their code), denials (recorded on the ledger) and failures.
func writeErr(w http.ResponseWriter, err error) {
	var he *httpError
	var ve *ValidationError
	var ce *client.Error
	switch {
	case errors.As(err, &he):
		writeOutcome(w, he.status, he.oo)
	case errors.As(err, &ve):
		writeOutcome(w, http.StatusBadRequest, ve.Outcome())
	case errors.Is(err, client.ErrDenied):
		writeOutcome(w, http.StatusForbidden, NewOutcome("error", "forbidden", "", "%v", err))
	case errors.As(err, &ce):
		code := "processing"
		switch {
		case ce.Status == http.StatusForbidden:
			code = "forbidden"
		case ce.Status == http.StatusNotFound:
			code = "not-found"
		case ce.Status == http.StatusConflict:
			code = "conflict"
		case ce.Status >= 500:
			code = "transient"
		}
		writeOutcome(w, ce.Status, NewOutcome("error", code, "", "%s/%d: %s", ce.Codespace, ce.Code, ce.Message))
	case errors.Is(err, client.ErrCannotDecrypt):
		writeOutcome(w, http.StatusForbidden, NewOutcome("error", "forbidden", "", "%v", err))
	case errors.Is(err, context.DeadlineExceeded):
		writeOutcome(w, http.StatusGatewayTimeout, NewOutcome("error", "timeout", "", "%v", err))
	default:
		writeOutcome(w, http.StatusInternalServerError, NewOutcome("fatal", "exception", "", "%v", err))
	}
}

// purpose is the purpose of use the caller declares (header X-Purpose-Of-Use), default
// treatment.
func purpose(r *http.Request) (string, error) {
	p := r.Header.Get("X-Purpose-Of-Use")
	if p == "" {
		return consent.Treatment, nil
	}
	for _, v := range consent.Purposes {
		if v == p {
			return p, nil
		}
	}
	return "", fail(http.StatusBadRequest, "value", "X-Purpose-Of-Use %q: use one of %v", p, consent.Purposes)
}
