package api

import (
	"encoding/json"
	"net/http"

	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Space is the codespace of errors raised by the API layer itself. It and its codes are
// defined in wire, which clients share.
const Space = wire.Space

// API-level codes (append-only, in wire).
const (
	CodeBadRequest  = wire.CodeBadRequest
	CodeNotFound    = wire.CodeNotFound
	CodeUnavailable = wire.CodeUnavailable
	CodeTimeout     = wire.CodeTimeout
	CodeInternal    = wire.CodeInternal
	CodeForbidden   = wire.CodeForbidden
	CodeBusy        = wire.CodeBusy
)

// statusOf is the HTTP status of each class of error.
var statusOf = map[tx.Class]int{
	tx.Invalid: http.StatusBadRequest, tx.Unauthenticated: http.StatusUnauthorized, tx.Forbidden: http.StatusForbidden,
	tx.NotFound: http.StatusNotFound, tx.Conflict: http.StatusConflict, tx.Gone: http.StatusGone,
	tx.TooLarge: http.StatusRequestEntityTooLarge, tx.Unprocessable: http.StatusUnprocessableEntity,
	tx.TooMany: http.StatusTooManyRequests, tx.Internal: http.StatusInternalServerError,
	tx.Unavailable: http.StatusServiceUnavailable, tx.Timeout: http.StatusGatewayTimeout,
}

// httpStatus is the status a client sees for a coded error: its class, as the domain that
// defines the code classified it.
func httpStatus(e *tx.Error) int {
	if s, ok := statusOf[tx.ClassOf(e.Codespace, e.Code)]; ok {
		return s
	}
	return http.StatusUnprocessableEntity
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONAs(w, "application/json", status, v)
}

// writeJSONAs is writeJSON with another JSON media type (application/ld+json).
func writeJSONAs(w http.ResponseWriter, ctype string, status int, v any) {
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeErr(w http.ResponseWriter, e *tx.Error) { writeJSON(w, httpStatus(e), e) }

// HTTPStatus is the status the API answers a coded error with (for in-process callers
// that map ledger rejections the same way, such as the FHIR gateway).
func HTTPStatus(e *tx.Error) int { return httpStatus(e) }

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Internal, map[uint32]tx.Class{
		CodeBadRequest: tx.Invalid, CodeNotFound: tx.NotFound, CodeUnavailable: tx.Unavailable,
		CodeTimeout: tx.Timeout, CodeForbidden: tx.Forbidden, CodeBusy: tx.Unavailable, wire.CodePruned: tx.Gone,
	})
}
