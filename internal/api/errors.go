package api

import (
	"encoding/json"
	"net/http"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Space is the codespace of errors raised by the API layer itself.
const Space tx.Codespace = "api"

// API-level codes. Append-only.
const (
	CodeBadRequest  uint32 = 1
	CodeNotFound    uint32 = 2
	CodeUnavailable uint32 = 3
	CodeTimeout     uint32 = 4
	CodeInternal    uint32 = 5
	CodeForbidden   uint32 = 6 // the caller may not use this endpoint
	CodeBusy        uint32 = 7 // the connection was refused: too many open (answered 429 or 503 by the listener)
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
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeErr(w http.ResponseWriter, e *tx.Error) { writeJSON(w, httpStatus(e), e) }

// TxError is the error body of a rejected transaction: the coded error plus its hash and,
// when it was rejected inside a block, the height.
type TxError struct {
	tx.Error
	Hash   string `json:"hash"`
	Height int64  `json:"height,omitempty"`
}

// HTTPStatus is the status the API answers a coded error with (for in-process callers
// that map ledger rejections the same way, such as the FHIR gateway).
func HTTPStatus(e *tx.Error) int { return httpStatus(e) }

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Internal, map[uint32]tx.Class{
		CodeBadRequest: tx.Invalid, CodeNotFound: tx.NotFound, CodeUnavailable: tx.Unavailable,
		CodeTimeout: tx.Timeout, CodeForbidden: tx.Forbidden, CodeBusy: tx.Unavailable,
	})
}
