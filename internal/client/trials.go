package client

import (
	"context"
	"net/url"

	"github.com/ehrchain/ehrchain/internal/wire"
)

// Trials lists every registered trial's public summary; overdueOnly keeps those whose
// results are overdue at the last block time.
func (c *Client) Trials(ctx context.Context, overdueOnly bool) (*wire.Trials, error) {
	var r wire.Trials
	q := ""
	if overdueOnly {
		q = "?overdue=1"
	}
	return &r, c.do(ctx, "GET", "/v1/trials"+q, nil, &r)
}

// Trial fetches a trial's whole public record: versions, IRB decisions, results postings.
func (c *Client) Trial(ctx context.Context, id string) (*wire.TrialResponse, error) {
	var r wire.TrialResponse
	return &r, c.do(ctx, "GET", "/v1/trials/"+url.PathEscape(id), nil, &r)
}
