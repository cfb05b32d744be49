package wire

import "github.com/ehrchain/ehrchain/internal/claims"

// PlanSummary is one plan in GET /v1/insurers/{id}/plans.
type PlanSummary struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version uint32 `json:"version"` // newest version
}

// PlanResponse is every version of a plan, oldest first.
type PlanResponse struct {
	Height   int64          `json:"height"`
	Versions []*claims.Plan `json:"versions"`
}

// ClaimsQueryBody is the body of POST /v1/claims/query.
type ClaimsQueryBody struct {
	Request string `json:"request"` // base64 of a signed claims.Query
}
