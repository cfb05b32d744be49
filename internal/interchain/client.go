package interchain

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Store is the state the interchain handlers read and write.
type Store interface {
	Get(key []byte) []byte
	Set(key, value []byte)
}

// DefaultMaxClockDrift is how far a counterparty header's time may run ahead of our block
// time when the client names no drift: two chains' BFT times differ by their block
// intervals and their validators' clocks.
const DefaultMaxClockDrift = 10 * time.Second

// MaxTrustingPeriod bounds a client's trusting period.
const MaxTrustingPeriod = 366 * 24 * time.Hour

// Client is a light client of one counterparty chain. Its trusted validator set is the one
// of the consensus state at LatestHeight (and of every other verified height).
type Client struct {
	ID               string        `json:"id"`
	ChainID          string        `json:"chain_id"`
	TrustNumerator   uint64        `json:"trust_numerator"` // trust level: 1/3
	TrustDenominator uint64        `json:"trust_denominator"`
	TrustingPeriod   time.Duration `json:"trusting_period"`
	MaxClockDrift    time.Duration `json:"max_clock_drift"`
	LatestHeight     int64         `json:"latest_height"` // the highest verified counterparty height
	CreatedAt        int64         `json:"created_at"`    // our height
	CreatedBy        string        `json:"created_by"`
	Frozen           bool          `json:"frozen,omitempty"`
	FrozenAt         int64         `json:"frozen_at,omitempty"`     // our height
	FrozenHeight     int64         `json:"frozen_height,omitempty"` // the counterparty height with two headers
}

// Consensus is what the client keeps of one verified counterparty header.
type Consensus struct {
	Height         int64     `json:"height"`
	Time           time.Time `json:"time"`
	HeaderHash     []byte    `json:"header_hash"`     // the block hash
	AppHash        []byte    `json:"app_hash"`        // the counterparty's state after block Height-1
	ValidatorsHash []byte    `json:"validators_hash"` // its validator set, stored under ValidatorsKey
	NextValsHash   []byte    `json:"next_validators_hash"`
	VerifiedAt     int64     `json:"verified_at"` // our height
}

// ClientKey is the state key of a client.
func ClientKey(id string) []byte { return []byte("interchain/client/" + id) }

// ConsensusKey is the state key of the consensus state of counterparty height h; heights
// are zero-padded so a prefix scan meets them in order.
func ConsensusKey(id string, h int64) []byte {
	return fmt.Appendf(nil, "interchain/cons/%s/%020d", id, h)
}

// ValidatorsKey is the state key of a counterparty validator set by its hash: sets change
// rarely, so consensus states share them.
func ValidatorsKey(id string, hash []byte) []byte {
	return []byte("interchain/vals/" + id + "/" + hex.EncodeToString(hash))
}

// GetClient loads a client, or nil.
func GetClient(r tx.Getter, id string) *Client {
	return tx.LoadJSON[Client](r, ClientKey(id), "interchain")
}

// GetConsensus loads the consensus state of counterparty height h, or nil.
func GetConsensus(r tx.Getter, id string, h int64) *Consensus {
	return tx.LoadJSON[Consensus](r, ConsensusKey(id, h), "interchain")
}

// GetValidators loads a stored validator set by hash, or nil.
func GetValidators(r tx.Getter, id string, hash []byte) *types.ValidatorSet {
	b := r.Get(ValidatorsKey(id, hash))
	if b == nil {
		return nil
	}
	var p cmtproto.ValidatorSet
	if err := p.Unmarshal(b); err != nil {
		panic(fmt.Errorf("interchain state %s is corrupt: %w", ValidatorsKey(id, hash), err))
	}
	vs, err := types.ValidatorSetFromProto(&p)
	if err != nil {
		panic(fmt.Errorf("interchain state %s is corrupt: %w", ValidatorsKey(id, hash), err))
	}
	return vs
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	return b
}

// consensusOf is the consensus state a verified light block leaves.
func consensusOf(lb *types.LightBlock, ourHeight int64) *Consensus {
	h := lb.Header
	return &Consensus{Height: h.Height, Time: h.Time.UTC(), HeaderHash: h.Hash(), AppHash: h.AppHash,
		ValidatorsHash: h.ValidatorsHash, NextValsHash: h.NextValidatorsHash, VerifiedAt: ourHeight}
}

// storeConsensus writes a verified header's consensus state and its validator set.
func storeConsensus(st Store, id string, lb *types.LightBlock, ourHeight int64) error {
	cs := consensusOf(lb, ourHeight)
	vk := ValidatorsKey(id, cs.ValidatorsHash)
	if st.Get(vk) == nil {
		p, err := lb.ValidatorSet.ToProto()
		if err != nil {
			return err
		}
		b, err := p.Marshal()
		if err != nil {
			return err
		}
		st.Set(vk, b)
	}
	st.Set(ConsensusKey(id, cs.Height), encode(cs))
	return nil
}

// trusted is the signed header the light package verifies from, rebuilt from a consensus
// state: the light package reads only the trusted header's chain id, height, time and next
// validators hash (a commit is never checked for a header already trusted).
func (c *Client) trusted(cs *Consensus) *types.SignedHeader {
	return &types.SignedHeader{Header: &types.Header{ChainID: c.ChainID, Height: cs.Height, Time: cs.Time,
		ValidatorsHash: cs.ValidatorsHash, NextValidatorsHash: cs.NextValsHash, AppHash: cs.AppHash}}
}
