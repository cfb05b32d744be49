package wire

import "github.com/ehrchain/ehrchain/internal/audit"

// AuditQueryBody is the body of POST /v1/audit/query.
type AuditQueryBody struct {
	Request string `json:"request"` // base64 of a signed audit.QueryRequest
}

// AuditQueryResponse is one page of events. Events hold who did what to whom and why,
// never clinical content.
type AuditQueryResponse struct {
	Height  int64          `json:"height"`   // committed height the answer was read at
	LogSize uint64         `json:"log_size"` // events in the log at that height
	Filter  audit.Filter   `json:"filter"`   // the filter applied: the request's, narrowed to the requester's scope
	Events  []*audit.Event `json:"events"`
	Next    string         `json:"next,omitempty"` // cursor of the next page; empty at the end
}
