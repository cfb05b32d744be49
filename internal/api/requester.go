package api

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"time"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// requester is the identity that signed a query (identity.CheckQuery), or nil for an
// unsigned one.
func (s *Server) requester(r *http.Request, v View) (*identity.Identity, *tx.Error) {
	id, err := identity.CheckQuery(s.b.ChainID(), r.Method, r.URL.RequestURI(), r.Header, time.Now(), func(id string) ed25519.PublicKey {
		if who := identity.Get(v, id); who != nil && who.Active {
			return who.SignKey
		}
		return nil
	})
	if err != nil || id == "" {
		return nil, err
	}
	return identity.Get(v, id), nil
}

// signedRequester is the identity that signed a query that must be signed, or the error to
// answer: the signature's own fault (identity.CheckQuery), or 401 with how to sign when the
// query is unsigned. what (formatted with args) names what the query asks for. Whether the
// signer is entitled is the caller's rule.
func (s *Server) signedRequester(r *http.Request, v View, what string, args ...any) (*identity.Identity, *tx.Error) {
	who, err := s.requester(r, v)
	if err != nil {
		return nil, err
	}
	if who == nil {
		return nil, notEntitled(nil, what, args...)
	}
	return who, nil
}

// grantsTo reports whether patient issued a grant that names who.
func grantsTo(v View, patient string, who *identity.Identity) bool {
	gs, _ := consent.Visible(who, patient, consent.List(v, patient))
	return len(gs) > 0
}

// notEntitled refuses a query: unsigned (401, with how to sign) or signed by someone not
// entitled (403).
func notEntitled(who *identity.Identity, what string, args ...any) *tx.Error {
	w := fmt.Sprintf(what, args...)
	if who == nil {
		return identity.Space.Err(identity.CodeUnsigned, "%s is answered only to a signed query: headers %s, %s and %s (the Go client and CLI sign with --as)", w,
			identity.QueryHeaderIdentity, identity.QueryHeaderTime, identity.QueryHeaderSignature)
	}
	return identity.Space.Err(identity.CodeNotEntitled, "%s (%s) may not see %s", who.ID, who.Role, w)
}
