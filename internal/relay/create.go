package relay

import (
	"context"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/interchain"
)

// CreateBody is the registrar's creation of light client id from the source's block height
// (0: the newest). The source is trusted here, as every light client's first header must
// be: the registrar should compare the block's hash (its block id) with the one the
// counterparty's operators publish before submitting. The block is returned for that.
func CreateBody(ctx context.Context, src Source, id string, height int64, trustingPeriod, maxClockDrift time.Duration) (*interchain.CreateBody, *types.LightBlock, error) {
	lb, err := src.LightBlock(ctx, height)
	if err != nil {
		return nil, nil, fmt.Errorf("the source's block %d: %w", height, err)
	}
	raw, err := interchain.EncodeLightBlock(lb)
	if err != nil {
		return nil, nil, fmt.Errorf("block %d: %w", lb.Height, err)
	}
	return &interchain.CreateBody{ClientID: id, ChainID: lb.ChainID, TrustingPeriod: trustingPeriod, MaxClockDrift: maxClockDrift, LightBlock: raw}, lb, nil
}
