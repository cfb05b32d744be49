package interchain

import (
	"errors"
	"fmt"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Body types owned by this package (the interchain range is 100-109).
const (
	TypeCreate       tx.Type = 100 // registrar creates a client from a header it trusts
	TypeUpdate       tx.Type = 101 // anyone relays a signed header the client verifies
	TypeMisbehaviour tx.Type = 102 // anyone reports two conflicting verified headers: freezes the client
)

// maxBody bounds a body's JSON; the envelope's own limit (tx.MaxTxBytes) is the real cap.
const maxBody = tx.MaxTxBytes

// CreateBody starts a client of chain ChainID from a light block (signed header and its
// validator set) that the registrar obtained from a source it trusts.
type CreateBody struct {
	ClientID string `json:"client_id"`
	ChainID  string `json:"chain_id"`
	// TrustingPeriod is how long after a verified header's time its validator set may vouch
	// for the next one; it must be shorter than the counterparty's unbonding (or key
	// revocation) period.
	TrustingPeriod time.Duration `json:"trusting_period"` // nanoseconds
	// MaxClockDrift is how far a header's time may run ahead of our block time; 0 means
	// DefaultMaxClockDrift.
	MaxClockDrift time.Duration `json:"max_clock_drift,omitempty"` // nanoseconds
	LightBlock    []byte        `json:"light_block"`               // cmtproto.LightBlock, protobuf

	lb *types.LightBlock
}

// UpdateBody relays one header of the counterparty, verified from the consensus state the
// client holds at TrustedHeight (adjacent when the header is TrustedHeight+1, skipping
// otherwise).
type UpdateBody struct {
	ClientID      string `json:"client_id"`
	TrustedHeight int64  `json:"trusted_height"`
	LightBlock    []byte `json:"light_block"` // cmtproto.LightBlock, protobuf

	lb *types.LightBlock
}

// Evidence is one side of a misbehaviour report: a light block and the verified height it
// is checked from.
type Evidence struct {
	TrustedHeight int64  `json:"trusted_height"`
	LightBlock    []byte `json:"light_block"`

	lb *types.LightBlock
}

// MisbehaviourBody reports two different headers of one height, each signed well enough to
// verify from the client's trusted state: the counterparty's validators (or the trust
// assumption) failed, and the client must stop vouching for anything.
type MisbehaviourBody struct {
	ClientID string   `json:"client_id"`
	A        Evidence `json:"a"`
	B        Evidence `json:"b"`
}

// Type implements tx.Body.
func (*CreateBody) Type() tx.Type { return TypeCreate }

// Type implements tx.Body.
func (*UpdateBody) Type() tx.Type { return TypeUpdate }

// Type implements tx.Body.
func (*MisbehaviourBody) Type() tx.Type { return TypeMisbehaviour }

// Encode implements tx.Body.
func (b *CreateBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// Encode implements tx.Body.
func (b *UpdateBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// Encode implements tx.Body.
func (b *MisbehaviourBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeCreate parses a create body and its light block.
func DecodeCreate(raw []byte) (*CreateBody, error) {
	b, err := tx.ReadJSON[CreateBody](raw, "client creation", maxBody)
	if err != nil {
		return nil, err
	}
	if b.lb, err = ParseLightBlock(b.LightBlock); err != nil {
		return nil, err
	}
	return b, nil
}

// DecodeUpdate parses an update body and its light block.
func DecodeUpdate(raw []byte) (*UpdateBody, error) {
	b, err := tx.ReadJSON[UpdateBody](raw, "client update", maxBody)
	if err != nil {
		return nil, err
	}
	if b.lb, err = ParseLightBlock(b.LightBlock); err != nil {
		return nil, err
	}
	return b, nil
}

// DecodeMisbehaviour parses a misbehaviour report and both light blocks.
func DecodeMisbehaviour(raw []byte) (*MisbehaviourBody, error) {
	b, err := tx.ReadJSON[MisbehaviourBody](raw, "misbehaviour report", maxBody)
	if err != nil {
		return nil, err
	}
	for _, e := range []*Evidence{&b.A, &b.B} {
		if e.lb, err = ParseLightBlock(e.LightBlock); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// EncodeLightBlock is the wire form of a signed header with its validator set.
func EncodeLightBlock(lb *types.LightBlock) ([]byte, error) {
	p, err := lb.ToProto()
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("no light block")
	}
	return p.Marshal()
}

// ParseLightBlock decodes a light block and checks it is complete: a header, a commit and
// a validator set, each well formed. It checks no signature.
func ParseLightBlock(raw []byte) (*types.LightBlock, error) {
	if len(raw) == 0 {
		return nil, errors.New("light block is missing")
	}
	var p cmtproto.LightBlock
	if err := p.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("light block does not decode: %w", err)
	}
	if p.SignedHeader == nil || p.SignedHeader.Header == nil || p.SignedHeader.Commit == nil {
		return nil, errors.New("light block lacks its header or commit")
	}
	if p.ValidatorSet == nil {
		return nil, errors.New("light block lacks its validator set")
	}
	lb, err := types.LightBlockFromProto(&p)
	if err != nil {
		return nil, fmt.Errorf("light block is invalid: %w", err)
	}
	return lb, nil
}

// block is the parsed light block of raw, parsed once.
func block(cached **types.LightBlock, raw []byte) (*types.LightBlock, *tx.Error) {
	if *cached == nil {
		lb, err := ParseLightBlock(raw)
		if err != nil {
			return nil, Space.Err(CodeInvalid, "%v", err)
		}
		*cached = lb
	}
	return *cached, nil
}
