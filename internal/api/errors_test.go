package api

import (
	"net/http"
	"testing"

	"github.com/ehrchain/ehrchain/internal/admission"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/claims"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/validators"
)

// TestStatusComesFromTheDomain: each domain classifies its own codes; the API only turns
// the class into a status.
func TestStatusComesFromTheDomain(t *testing.T) {
	for _, c := range []struct {
		space tx.Codespace
		code  uint32
		want  int
	}{
		{tx.Space, tx.CodeBadSignature, http.StatusUnauthorized},
		{tx.Space, tx.CodeBadSequence, http.StatusConflict},
		{tx.Space, tx.CodeMalformed, http.StatusBadRequest},
		{identity.Space, identity.CodeNotEntitled, http.StatusForbidden},
		{identity.Space, identity.CodeUnsigned, http.StatusUnauthorized},
		{identity.Space, identity.CodeNotFound, http.StatusNotFound},
		{consent.Space, consent.CodeRevoked, http.StatusConflict},
		{records.Space, records.CodeUnauthorized, http.StatusForbidden},
		{records.Space, records.CodeErased, http.StatusGone},
		{erasure.Space, erasure.CodeHeld, http.StatusConflict},
		{validators.Space, validators.CodeLastOne, http.StatusConflict},
		{claims.Space, claims.CodeNoConsent, http.StatusForbidden},
		{emergency.Space, emergency.CodeWindow, http.StatusForbidden},
		{blobs.Space, blobs.CodeQuota, http.StatusTooManyRequests},
		{blobs.Space, blobs.CodeTooLarge, http.StatusRequestEntityTooLarge},
		{audit.Space, audit.CodeReplayed, http.StatusConflict},
		{admission.Space, admission.CodeOverBytes, http.StatusTooManyRequests},
		{admission.Space, admission.CodeClosed, http.StatusForbidden},
		{Space, CodeTimeout, http.StatusGatewayTimeout},
		{Space, CodeInternal, http.StatusInternalServerError},
		{"no-such-domain", 1, http.StatusUnprocessableEntity},
	} {
		if got := httpStatus(c.space.Err(c.code, "x")); got != c.want {
			t.Errorf("%s/%d: HTTP %d, want %d", c.space, c.code, got, c.want)
		}
	}
}
