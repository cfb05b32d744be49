package client

import (
	"context"

	"github.com/ehrchain/ehrchain/internal/api"
)

// Validators lists every validator the chain has had, with its institution.
func (c *Client) Validators(ctx context.Context) (*api.ValidatorList, error) {
	var r api.ValidatorList
	return &r, c.do(ctx, "GET", "/v1/validators", nil, &r)
}
