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
