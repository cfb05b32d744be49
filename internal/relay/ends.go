package relay

import (
	"context"
	"errors"
	"fmt"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Source is the counterparty chain whose headers are relayed.
type Source interface {
	// LightBlock is block height with its commit and validator set (0: the newest).
	LightBlock(ctx context.Context, height int64) (*types.LightBlock, error)
}

// Target is the chain keeping the light client.
type Target interface {
	// Client is the light client id as last committed, with its latest verified header.
	Client(ctx context.Context, id string) (*interchain.ClientInfo, error)
	// Below is the client's highest verified header below the counterparty's height h, as
	// last committed (nil: none).
	Below(ctx context.Context, id string, h int64) (*interchain.Consensus, error)
	// Update submits one header and waits for its block; a refusal is a *tx.Error.
	Update(ctx context.Context, b *interchain.UpdateBody) error
	// Misbehaviour submits a report of two conflicting headers (tx 102) and waits for its
	// block; a refusal is a *tx.Error.
	Misbehaviour(ctx context.Context, b *interchain.MisbehaviourBody) error
}

// Node is a Source reading a node's GET /v1/lightblocks.
type Node struct{ C *client.Client }

// LightBlock implements Source: the node's bytes, decoded and checked to be the block
// asked for (the signatures are the target chain's to check).
func (n Node) LightBlock(ctx context.Context, height int64) (*types.LightBlock, error) {
	w, err := n.C.LightBlock(ctx, height)
	if err != nil {
		return nil, err
	}
	lb, err := interchain.ParseLightBlock(w.LightBlock)
	if err != nil {
		return nil, fmt.Errorf("light block %d from %s: %w", height, n.C.Base, err)
	}
	if height != 0 && lb.Height != height {
		return nil, fmt.Errorf("asked %s for block %d, got block %d", n.C.Base, height, lb.Height)
	}
	return lb, nil
}

// Chain is a Target: a node of the chain keeping the client, and the identity that signs
// the relayer's updates there (any registered identity may relay).
type Chain struct {
	C      *client.Client
	Signer *keys.Keystore
}

// Client implements Target.
func (c Chain) Client(ctx context.Context, id string) (*interchain.ClientInfo, error) {
	r, err := c.C.InterchainClient(ctx, id)
	if err != nil {
		return nil, coded(err)
	}
	w := r.Client
	info := &interchain.ClientInfo{Height: r.Height, Client: &interchain.Client{ID: w.ID, ChainID: w.ChainID,
		TrustNumerator: w.TrustNumerator, TrustDenominator: w.TrustDenominator, TrustingPeriod: w.TrustingPeriod,
		MaxClockDrift: w.MaxClockDrift, LatestHeight: w.LatestHeight, CreatedAt: w.CreatedAt, CreatedBy: w.CreatedBy,
		Frozen: w.Frozen, FrozenAt: w.FrozenAt, FrozenHeight: w.FrozenHeight}}
	info.Latest, info.Below = consensus(r.Latest), consensus(r.Below)
	return info, nil
}

// Below implements Target.
func (c Chain) Below(ctx context.Context, id string, h int64) (*interchain.Consensus, error) {
	r, err := c.C.InterchainClientBelow(ctx, id, h)
	if err != nil {
		return nil, coded(err)
	}
	return consensus(r.Below), nil
}

func consensus(l *wire.LightClientHeader) *interchain.Consensus {
	if l == nil {
		return nil
	}
	return &interchain.Consensus{Height: l.Height, Time: l.Time, HeaderHash: l.HeaderHash, AppHash: l.AppHash,
		ValidatorsHash: l.ValidatorsHash, NextValsHash: l.NextValsHash, VerifiedAt: l.VerifiedAt}
}

// Update implements Target.
func (c Chain) Update(ctx context.Context, b *interchain.UpdateBody) error {
	_, err := c.C.Send(ctx, c.Signer, b)
	return coded(err)
}

// Misbehaviour implements Target.
func (c Chain) Misbehaviour(ctx context.Context, b *interchain.MisbehaviourBody) error {
	_, err := c.C.Send(ctx, c.Signer, b)
	return coded(err)
}

// coded turns the node's coded answer into the *tx.Error it carries, so the relayer reads
// refusals the same way from any Target.
func coded(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		e := ce.TxError.Error
		return &e
	}
	return err
}

// code is err's interchain code, or 0.
func code(err error) uint32 {
	var te *tx.Error
	if errors.As(err, &te) && te.Codespace == string(interchain.Space) {
		return te.Code
	}
	return 0
}
