package api

import (
	"encoding/json"
	"net/http"

	"github.com/ehrchain/ehrchain/internal/admission"
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

// httpStatus maps a coded error to the HTTP status a client should see.
func httpStatus(e *tx.Error) int {
	switch tx.Codespace(e.Codespace) {
	case Space:
		switch e.Code {
		case CodeBadRequest:
			return http.StatusBadRequest
		case CodeNotFound:
			return http.StatusNotFound
		case CodeUnavailable:
			return http.StatusServiceUnavailable
		case CodeTimeout:
			return http.StatusGatewayTimeout
		case CodeForbidden:
			return http.StatusForbidden
		}
		return http.StatusInternalServerError
	case tx.Space:
		switch e.Code {
		case tx.CodeTooLarge:
			return http.StatusRequestEntityTooLarge
		case tx.CodeUnknownSigner, tx.CodeBadSignature:
			return http.StatusUnauthorized
		case tx.CodeInactive:
			return http.StatusForbidden
		case tx.CodeBadSequence:
			return http.StatusConflict
		case tx.CodeInternal:
			return http.StatusInternalServerError
		}
		return http.StatusBadRequest
	case identity.Space:
		switch e.Code {
		case identity.CodeUnauthorized, identity.CodeRegistrarSelf, identity.CodeNotEntitled:
			return http.StatusForbidden
		case identity.CodeUnsigned, identity.CodeBadQuery:
			return http.StatusUnauthorized
		case identity.CodeExists, identity.CodeInactive, identity.CodeKeyUnchanged:
			return http.StatusConflict
		case identity.CodeNotFound:
			return http.StatusNotFound
		}
		return http.StatusBadRequest
	case consent.Space:
		switch e.Code {
		case consent.CodeUnauthorized, consent.CodeDenied:
			return http.StatusForbidden
		case consent.CodeNotFound:
			return http.StatusNotFound
		case consent.CodeRevoked:
			return http.StatusConflict
		}
		return http.StatusBadRequest
	case records.Space:
		switch e.Code {
		case records.CodeUnauthorized:
			return http.StatusForbidden
		case records.CodeNoPatient, records.CodeNotFound:
			return http.StatusNotFound
		case records.CodeVersion:
			return http.StatusConflict
		case records.CodeErased:
			return http.StatusGone
		}
		return http.StatusBadRequest
	case validators.Space:
		switch e.Code {
		case validators.CodeUnauthorized:
			return http.StatusForbidden
		case validators.CodeNotFound:
			return http.StatusNotFound
		case validators.CodeLastOne, validators.CodeTooMany, validators.CodeUnchanged:
			return http.StatusConflict
		}
		return http.StatusBadRequest
	case claims.Space:
		switch e.Code {
		case claims.CodeUnauthorized, claims.CodeNotAuthor, claims.CodeNoConsent:
			return http.StatusForbidden
		case claims.CodeNotFound:
			return http.StatusNotFound
		case claims.CodeDuplicate, claims.CodeOverlap, claims.CodeState:
			return http.StatusConflict
		}
		return http.StatusBadRequest
	case emergency.Space:
		return emergencyStatus(e.Code)
	case blobs.Space:
		return blobStatus(e.Code)
	case erasure.Space:
		switch e.Code {
		case erasure.CodeUnauthorized:
			return http.StatusForbidden
		case erasure.CodeNotFound:
			return http.StatusNotFound
		case erasure.CodeErased:
			return http.StatusGone
		case erasure.CodeHeld, erasure.CodeLifted:
			return http.StatusConflict
		}
		return http.StatusBadRequest
	case admission.Space:
		return http.StatusTooManyRequests
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

func blobStatus(code uint32) int {
	switch code {
	case blobs.CodeUnsigned, blobs.CodeUnknownSigner, blobs.CodeBadSignature, blobs.CodeStale:
		return http.StatusUnauthorized
	case blobs.CodeNotAuthor:
		return http.StatusForbidden
	case blobs.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case blobs.CodeQuota:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// HTTPStatus is the status the API answers a coded error with (for in-process callers
// that map ledger rejections the same way, such as the FHIR gateway).
func HTTPStatus(e *tx.Error) int { return httpStatus(e) }
