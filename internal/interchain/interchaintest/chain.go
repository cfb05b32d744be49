// Package interchaintest signs the headers of a counterparty CometBFT chain for tests:
// real CometBFT validator keys (ed25519), real vote sign bytes and commits, the way
// CometBFT's own light-client tests build them. Keys derive from names, so the same
// script gives the same headers.
package interchaintest

import (
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	"github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"
)

// Set is a set of validators with their keys and voting powers.
type Set struct {
	keys   []crypto.PrivKey
	powers []int64
}

// NewSet makes n validators named name-0 ... name-(n-1), each with power.
func NewSet(name string, n int, power int64) *Set {
	s := &Set{}
	for i := 0; i < n; i++ {
		s.keys = append(s.keys, ed25519.GenPrivKeyFromSecret(fmt.Appendf(nil, "%s-%d", name, i)))
		s.powers = append(s.powers, power)
	}
	return s
}

// Join is the union of s and o (o's validators after s's).
func (s *Set) Join(o *Set) *Set {
	return &Set{keys: append(append([]crypto.PrivKey{}, s.keys...), o.keys...), powers: append(append([]int64{}, s.powers...), o.powers...)}
}

// Take is the validators i..j-1 of s.
func (s *Set) Take(i, j int) *Set { return &Set{keys: s.keys[i:j], powers: s.powers[i:j]} }

// Validators is s as a CometBFT validator set.
func (s *Set) Validators() *types.ValidatorSet {
	vs := make([]*types.Validator, len(s.keys))
	for i, k := range s.keys {
		vs[i] = types.NewValidator(k.PubKey(), s.powers[i])
	}
	return types.NewValidatorSet(vs)
}

// Header describes one block of a counterparty chain.
type Header struct {
	ChainID string
	Height  int64
	Time    time.Time
	AppHash []byte
	Vals    *Set // the block's validators
	Next    *Set // the next block's validators; nil: Vals
	Signers *Set // who signs the commit (keys outside Vals are ignored); nil: all of Vals
}

// Sign builds the light block of h: the header, a commit signed by h.Signers, and the
// validator set.
func Sign(h Header) *types.LightBlock {
	next := h.Next
	if next == nil {
		next = h.Vals
	}
	signers := h.Signers
	if signers == nil {
		signers = h.Vals
	}
	vals := h.Vals.Validators()
	header := &types.Header{
		Version: cmtversion.Consensus{Block: version.BlockProtocol}, ChainID: h.ChainID, Height: h.Height, Time: h.Time.UTC(),
		ValidatorsHash: vals.Hash(), NextValidatorsHash: next.Validators().Hash(), AppHash: h.AppHash,
		ConsensusHash: digest("consensus"), LastResultsHash: digest("results"), DataHash: types.Txs(nil).Hash(),
		ProposerAddress: vals.Validators[0].Address,
	}
	if h.Height > 1 {
		header.LastBlockID = types.BlockID{Hash: digest(fmt.Sprint("block ", h.Height-1)),
			PartSetHeader: types.PartSetHeader{Total: 1, Hash: digest(fmt.Sprint("parts ", h.Height-1))}}
	}
	blockID := types.BlockID{Hash: header.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: digest(fmt.Sprint("parts ", h.Height))}}
	sigs := make([]types.CommitSig, vals.Size())
	for i := range sigs {
		sigs[i] = types.NewCommitSigAbsent()
	}
	for _, k := range signers.keys {
		idx, _ := vals.GetByAddress(k.PubKey().Address())
		if idx < 0 {
			continue
		}
		sigs[idx] = vote(h.ChainID, header, blockID, k, idx).CommitSig()
	}
	commit := &types.Commit{Height: h.Height, Round: 1, BlockID: blockID, Signatures: sigs}
	return &types.LightBlock{SignedHeader: &types.SignedHeader{Header: header, Commit: commit}, ValidatorSet: vals}
}

// vote is k's precommit for blockID, signed over CometBFT's vote sign bytes for chainID.
func vote(chainID string, h *types.Header, blockID types.BlockID, k crypto.PrivKey, idx int32) *types.Vote {
	v := &types.Vote{Type: cmtproto.PrecommitType, Height: h.Height, Round: 1, BlockID: blockID,
		Timestamp: h.Time.Add(time.Second), ValidatorAddress: k.PubKey().Address(), ValidatorIndex: idx}
	sig, err := k.Sign(types.VoteSignBytes(chainID, v.ToProto()))
	if err != nil {
		panic(err)
	}
	v.Signature = sig
	return v
}

func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
