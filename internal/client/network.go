package client

import (
	"context"

	"github.com/ehrchain/ehrchain/internal/wire"
)

// Validators lists every validator the chain has had, with its institution.
func (c *Client) Validators(ctx context.Context) (*wire.ValidatorList, error) {
	var r wire.ValidatorList
	return &r, c.do(ctx, "GET", "/v1/validators", nil, &r)
}
