package wire

import (
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
)

// LightBlock is one block of a node's chain as a relayer takes it to another chain's light
// client: LightBlock is CometBFT's protobuf LightBlock (signed header, commit, validator
// set), the bytes interchain.EncodeLightBlock makes and an update transaction carries. The
// other fields are read from it for display and for choosing heights; the light client
// trusts only the signatures inside.
type LightBlock struct {
	ChainID    string    `json:"chain_id"`
	Height     int64     `json:"height"`
	Time       time.Time `json:"time"`
	Hash       []byte    `json:"hash"`   // the header's hash: the block id the commit signs
	Base       int64     `json:"base"`   // the lowest height the node still serves
	Latest     int64     `json:"latest"` // the highest
	LightBlock []byte    `json:"light_block"`
}

// InterchainClient is GET /v1/interchain/clients/{id}: a light client of another chain
// and its latest verified header, with interchain.ClientInfo's fields (a test holds the
// two together), so a program talking HTTP reads it without the consensus engine.
type InterchainClient struct {
	Height int64              `json:"height"` // our height the answer is read at
	Client LightClient        `json:"client"`
	Latest *LightClientHeader `json:"latest"`
	Below  *LightClientHeader `json:"below,omitempty"` // with ?below=H: the highest header verified below H
}

// LightClient is interchain.Client.
type LightClient struct {
	ID               string        `json:"id"`
	ChainID          string        `json:"chain_id"`
	TrustNumerator   uint64        `json:"trust_numerator"`
	TrustDenominator uint64        `json:"trust_denominator"`
	TrustingPeriod   time.Duration `json:"trusting_period"`
	MaxClockDrift    time.Duration `json:"max_clock_drift"`
	LatestHeight     int64         `json:"latest_height"`
	CreatedAt        int64         `json:"created_at"`
	CreatedBy        string        `json:"created_by"`
	Frozen           bool          `json:"frozen,omitempty"`
	FrozenAt         int64         `json:"frozen_at,omitempty"`
	FrozenHeight     int64         `json:"frozen_height,omitempty"`
}

// LightClientHeader is interchain.Consensus: what a client keeps of a verified header.
type LightClientHeader struct {
	Height         int64     `json:"height"`
	Time           time.Time `json:"time"`
	HeaderHash     []byte    `json:"header_hash"`
	AppHash        []byte    `json:"app_hash"`
	ValidatorsHash []byte    `json:"validators_hash"`
	NextValsHash   []byte    `json:"next_validators_hash"`
	VerifiedAt     int64     `json:"verified_at"`
}

// InterchainCheck is POST /v1/interchain/clients/{id}/check with a state proof
// (interchain.CheckRequest's state fields): does Key hold Value (or, Absent, nothing) in
// the counterparty's state the proof is of?
type InterchainCheck struct {
	Key    []byte `json:"key"`
	Value  []byte `json:"value,omitempty"`
	Absent bool   `json:"absent,omitempty"`
	Proof  *Proof `json:"proof"`
}

// InterchainChecked is a proof that verified (interchain.CheckResult).
type InterchainChecked struct {
	Height      int64        `json:"height"`
	ProvenAt    int64        `json:"proven_at"`
	HeaderBy    int64        `json:"header"`
	AppHash     []byte       `json:"app_hash"`
	VerifiedAt  int64        `json:"verified_at"`
	ProvenEvent *audit.Event `json:"event,omitempty"`
}
