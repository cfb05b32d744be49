package client

import (
	"context"
	"encoding/base64"

	"github.com/ehrchain/ehrchain/internal/wire"
)

// SubmitBatch hands signed transactions to the node in order, without waiting for their
// blocks (POST /v1/txs). Admission stops at the first refusal; see wire.SubmitBatchResponse.
func (c *Client) SubmitBatch(ctx context.Context, raws [][]byte) (*wire.SubmitBatchResponse, error) {
	req := wire.SubmitBatchRequest{Txs: make([]string, len(raws))}
	for i, r := range raws {
		req.Txs[i] = base64.StdEncoding.EncodeToString(r)
	}
	var out wire.SubmitBatchResponse
	return &out, c.do(ctx, "POST", "/v1/txs", req, &out)
}
