package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Bearer resolves a bearer token to the keystore of the identity it was issued to, or
// nil. The FHIR gateway issues the tokens (SMART Backend Services: a JWT signed with the
// identity's key, for an identity whose keystore is unlocked on this node), so that a
// partner's EPCIS system posts bare EPCISDocuments, as GS1's REST binding has them, and
// the node signs the capture transaction for it.
type Bearer func(token string) *keys.Keystore

// SetBearer lets EPCIS capture and queries take the tokens b resolves.
func (s *Server) SetBearer(b Bearer) { s.bearer.Store(&b) }

// bearerToken is the request's bearer token, if it carries one.
func bearerToken(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(tok), ok
}

// bearerKeystore resolves the request's bearer token; an unknown or expired one is 401.
func (s *Server) bearerKeystore(tok string) (*keys.Keystore, *tx.Error) {
	b := s.bearer.Load()
	if b == nil {
		return nil, identity.Space.Err(identity.CodeBadQuery, "this node takes no bearer tokens for EPCIS (its FHIR gateway, which issues them, is not mounted): sign the capture or query with the partner's key")
	}
	ks := (*b)(tok)
	if ks == nil {
		return nil, identity.Space.Err(identity.CodeBadQuery, "the bearer token is unknown or expired: get one at /fhir/r4/auth/token with a JWT signed by the partner's key")
	}
	return ks, nil
}

// epcisRequester is who asks an EPCIS query: the identity of a bearer token, or the
// signer of a signed query (requester). A token of a key the identity no longer holds
// answers nothing.
func (s *Server) epcisRequester(r *http.Request, v View) (*identity.Identity, *tx.Error) {
	tok, ok := bearerToken(r)
	if !ok {
		return s.requester(r, v)
	}
	ks, terr := s.bearerKeystore(tok)
	if terr != nil {
		return nil, terr
	}
	who := identity.Get(v, ks.ID)
	if who == nil || !who.Active || !bytes.Equal(who.SignKey, ks.Keys.SignPublic()) {
		return nil, identity.Space.Err(identity.CodeBadQuery, "the bearer token's identity %s is not active with the key it was issued for", ks.ID)
	}
	return who, nil
}

// captureBearer takes a bare EPCISDocument from a partner with a bearer token, signs the
// capture transaction with the partner's unlocked key and submits it like a signed one.
// Captures by token are serialised, so each takes the next sequence of its signer.
func (s *Server) captureBearer(w http.ResponseWriter, r *http.Request, tok string) {
	ks, terr := s.bearerKeystore(tok)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, supply.MaxDocument))
	if err != nil {
		writeErr(w, tx.Space.Err(tx.CodeTooLarge, "EPCIS document: %v (at most %d bytes)", err, supply.MaxDocument))
		return
	}
	var head struct {
		Type *string `json:"type"`
		Tx   *string `json:"tx"`
	}
	if json.Unmarshal(doc, &head) != nil || head.Tx != nil || head.Type == nil || *head.Type != "EPCISDocument" {
		writeErr(w, Space.Err(CodeBadRequest, `with a bearer token, POST /epcis/capture takes an EPCISDocument (JSON-LD, "type": "EPCISDocument"); a signed {"tx": ...} carries no token`))
		return
	}
	signer, ok := tx.ParseSigner(ks.ID)
	if !ok {
		writeErr(w, Space.Err(CodeInternal, "the unlocked keystore %s has a malformed id", ks.Name))
		return
	}
	s.bearerMu.Lock()
	defer s.bearerMu.Unlock()
	seq := app.NextSequence(s.b.View(), ks.ID)
	raw := tx.Sign(ks.Keys.Sign, signer, s.b.ChainID(), seq, &supply.CaptureBody{Document: doc}).Encode()
	s.captureRaw(w, r, raw)
}
