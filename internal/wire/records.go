package wire

import (
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/records"
)

// CategoryKeys is the answer of GET /v1/patients/{id}/keys.
type CategoryKeys struct {
	Height int64                 `json:"height"`
	Keys   []consent.CategoryKey `json:"keys"`
}

// ReadRequestBody is the body of POST /v1/read.
type ReadRequestBody struct {
	Request string `json:"request"` // base64 of a signed records.ReadRequest
}

// ReadResponse is what an allowed read releases: the decision and its audit event, and the
// ciphertext and wrapped keys the requester needs. A denied read releases only the decision.
type ReadResponse struct {
	Outcome    records.Outcome   `json:"outcome"`
	Record     *records.Meta     `json:"record,omitempty"`
	Ciphertext []byte            `json:"ciphertext,omitempty"`
	History    []*records.Meta   `json:"history,omitempty"`
	Share      *consent.KeyShare `json:"share,omitempty"` // the category key, wrapped for the requester
	Records    []*records.Meta   `json:"records,omitempty"`
}

// RecordLocation says whose record an id is and what it holds, without its content: what
// a gateway of another shard needs to send a read of the record to its patient's home.
type RecordLocation struct {
	Record       string `json:"record"`
	Patient      string `json:"patient"`
	ResourceType string `json:"resourceType,omitempty"`
	ContentType  string `json:"contentType,omitempty"`
	Category     string `json:"category,omitempty"`
	Version      uint32 `json:"version"`
	Time         int64  `json:"time,omitempty"`   // block time of the head version, unix seconds
	Erased       bool   `json:"erased,omitempty"` // erased by its patient: only the tombstone remains
}
