package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/wire"
)

// LightBlock fetches block height of the node's chain as a light client verifies it (0:
// the newest). Its bytes stay opaque here; internal/interchain decodes them.
func (c *Client) LightBlock(ctx context.Context, height int64) (*wire.LightBlock, error) {
	h := "latest"
	if height != 0 {
		h = strconv.FormatInt(height, 10)
	}
	var lb wire.LightBlock
	return &lb, c.do(ctx, "GET", "/v1/lightblocks/"+h, nil, &lb)
}

// InterchainClient fetches the node's light client id of another chain.
func (c *Client) InterchainClient(ctx context.Context, id string) (*wire.InterchainClient, error) {
	var r wire.InterchainClient
	return &r, c.do(ctx, "GET", "/v1/interchain/clients/"+url.PathEscape(id), nil, &r)
}

// InterchainClientBelow is InterchainClient with the highest header the client verified
// below the other chain's height h (Below, nil if none): where a header h is filled in from.
func (c *Client) InterchainClientBelow(ctx context.Context, id string, h int64) (*wire.InterchainClient, error) {
	var r wire.InterchainClient
	return &r, c.do(ctx, "GET", "/v1/interchain/clients/"+url.PathEscape(id)+"?below="+strconv.FormatInt(h, 10), nil, &r)
}

// CheckInterchain asks the node whether a proof of the other chain's state verifies
// against its light client id, as a transaction citing it would be checked.
func (c *Client) CheckInterchain(ctx context.Context, id string, q *wire.InterchainCheck) (*wire.InterchainChecked, error) {
	var r wire.InterchainChecked
	return &r, c.do(ctx, "POST", "/v1/interchain/clients/"+url.PathEscape(id)+"/check", q, &r)
}
