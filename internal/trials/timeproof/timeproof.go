// Package timeproof builds and checks a trial report's proof of its block time
// (trials.BlockTimeProof) from CometBFT block headers, on the node and in the CLI.
package timeproof

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/trials"
)

// New encodes the headers of blocks H and H+1.
func New(h, next *types.Header) (*trials.BlockTimeProof, error) {
	hb, err := h.ToProto().Marshal()
	if err != nil {
		return nil, err
	}
	nb, err := next.ToProto().Marshal()
	if err != nil {
		return nil, err
	}
	return &trials.BlockTimeProof{Header: hb, Next: nb}, nil
}

// ErrBlockTime is the error every failed block-time check wraps.
var ErrBlockTime = errors.New("block time not proven")

func decodeHeader(what string, b []byte) (*types.Header, error) {
	var ph cmtproto.Header
	if err := ph.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: the %s does not decode: %v", ErrBlockTime, what, err)
	}
	// Only the canonical encoding: another encoding would hash the same but is not what a node wrote.
	if canon, err := ph.Marshal(); err != nil || !bytes.Equal(canon, b) {
		return nil, fmt.Errorf("%w: the %s is not canonically encoded", ErrBlockTime, what)
	}
	h, err := types.HeaderFromProto(&ph)
	if err != nil {
		return nil, fmt.Errorf("%w: the %s is invalid: %v", ErrBlockTime, what, err)
	}
	return &h, nil
}

// Verify checks, with p, that blockTime is the time of block height, whose state hashes to
// appHash, against trustedNext, the hash of block height+1 the caller trusts.
func Verify(p *trials.BlockTimeProof, trustedNext []byte, height int64, appHash []byte, blockTime time.Time) error {
	if p == nil {
		return fmt.Errorf("%w: the answer carries no block headers", ErrBlockTime)
	}
	next, err := decodeHeader("header of the next block", p.Next)
	if err != nil {
		return err
	}
	h, err := decodeHeader("block header", p.Header)
	if err != nil {
		return err
	}
	switch nh := next.Hash(); {
	case !bytes.Equal(nh, trustedNext):
		return fmt.Errorf("%w: block %d hashes to %X, the trusted hash is %X", ErrBlockTime, next.Height, nh, trustedNext)
	case next.Height != height+1 || h.Height != height:
		return fmt.Errorf("%w: the headers are of blocks %d and %d, the report is at height %d", ErrBlockTime, h.Height, next.Height, height)
	case h.ChainID != next.ChainID:
		return fmt.Errorf("%w: the headers are of chains %q and %q", ErrBlockTime, h.ChainID, next.ChainID)
	case !bytes.Equal(next.LastBlockID.Hash, h.Hash()):
		return fmt.Errorf("%w: block %d does not follow a block that hashes to %X", ErrBlockTime, next.Height, h.Hash())
	case !bytes.Equal(next.AppHash, appHash):
		return fmt.Errorf("%w: block %d carries app hash %X, the report %X", ErrBlockTime, next.Height, next.AppHash, appHash)
	case !h.Time.Equal(blockTime):
		return fmt.Errorf("%w: block %d was made at %s, the report says %s", ErrBlockTime, height, h.Time.UTC().Format(time.RFC3339Nano), blockTime.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// NextBlock is the hash of block H+1 and the app hash it carries, as the proof holds them:
// the node's claim until the hash is compared with a trusted one (Verify).
func NextBlock(p *trials.BlockTimeProof) (hash, appHash []byte, err error) {
	if p == nil {
		return nil, nil, fmt.Errorf("%w: the answer carries no block headers", ErrBlockTime)
	}
	next, err := decodeHeader("header of the next block", p.Next)
	if err != nil {
		return nil, nil, err
	}
	return next.Hash(), next.AppHash, nil
}
