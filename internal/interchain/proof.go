package interchain

import (
	"bytes"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/merklelog"
	"github.com/ehrchain/ehrchain/internal/stateproof"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// StateProof proves one value of the counterparty's state map after its block Height: the
// ICS-23 proof a counterparty node serves (state.Proof and wire.Proof have these fields,
// so either converts to it). AppHash is what the serving node claims and is not trusted.
type StateProof struct {
	Height  int64  `json:"height"`
	Map     []byte `json:"map"` // ICS-23 CommitmentProof, protobuf-encoded
	MapRoot []byte `json:"map_root"`
	LogRoot []byte `json:"log_root"`
	LogSize uint64 `json:"log_size"`
	AppHash []byte `json:"app_hash"`
}

// EventProof proves one entry (an audit or supply event) of the counterparty's event log
// after its block Height: the RFC 6962 inclusion path with the other inputs of the app
// hash. state.EventProof has these fields and converts to it.
type EventProof struct {
	Height  int64    `json:"height"`
	Index   uint64   `json:"index"`
	Leaf    []byte   `json:"leaf"` // the event's canonical encoding
	LogSize uint64   `json:"log_size"`
	Path    [][]byte `json:"path"`
	LogRoot []byte   `json:"log_root"`
	MapRoot []byte   `json:"map_root"`
}

// VerifyState checks that key holds value (nil: key is absent) in the state of the chain
// client id follows, after that chain's block p.Height.
//
// Heights: CometBFT puts in header H the app hash that executing block H-1 produced (the
// state is committed after the header was proposed). A node serving a proof "at height h"
// proves the state after block h, so its app hash is in header h+1: the proof verifies
// against the consensus state the client stored for h+1, and only if the client verified
// that header. The proof's own AppHash field is ignored.
func VerifyState(r tx.Getter, id string, p *StateProof, key, value []byte) *tx.Error {
	cs, err := provenAt(r, id, p != nil, heightOf(p))
	if err != nil {
		return err
	}
	if e := stateproof.Verify(cs.AppHash, p.MapRoot, p.LogRoot, p.LogSize, p.Map, key, value); e != nil {
		return Space.Err(CodeProof, "key %q at %s height %d: %v", key, GetClient(r, id).ChainID, p.Height, e)
	}
	return nil
}

// VerifyEvent checks that p.Leaf is entry p.Index of the event log of the chain client id
// follows, after that chain's block p.Height (against header p.Height+1, as VerifyState),
// and returns the event.
func VerifyEvent(r tx.Getter, id string, p *EventProof) (*audit.Event, *tx.Error) {
	var h int64
	if p != nil {
		h = p.Height
	}
	cs, err := provenAt(r, id, p != nil, h)
	if err != nil {
		return nil, err
	}
	if got := stateproof.AppHash(p.MapRoot, p.LogRoot, p.LogSize); !bytes.Equal(got, cs.AppHash) {
		return nil, Space.Err(CodeProof, "event %d: the proof's roots hash to %X, not the app hash %X verified in header %d", p.Index, got, cs.AppHash, cs.Height)
	}
	if p.Index >= p.LogSize {
		return nil, Space.Err(CodeProof, "event %d is beyond the log's %d events", p.Index, p.LogSize)
	}
	if e := merklelog.VerifyInclusion(p.Index, p.LogSize, p.Leaf, p.Path, p.LogRoot); e != nil {
		return nil, Space.Err(CodeProof, "event %d of %d: %v", p.Index, p.LogSize, e)
	}
	ev, e := audit.Decode(p.Leaf)
	if e != nil {
		return nil, Space.Err(CodeProof, "event %d is included but does not decode: %v", p.Index, e)
	}
	ev.Index = p.Index
	return ev, nil
}

func heightOf(p *StateProof) int64 {
	if p == nil {
		return 0
	}
	return p.Height
}

// provenAt is the consensus state that carries the app hash of the counterparty's state
// after block h: the one of header h+1.
func provenAt(r tx.Getter, id string, given bool, h int64) (*Consensus, *tx.Error) {
	c := GetClient(r, id)
	switch {
	case c == nil:
		return nil, Space.Err(CodeNotFound, "no light client %s", id)
	case c.Frozen:
		return nil, Space.Err(CodeFrozen, "client %s was frozen at our height %d and proves nothing", id, c.FrozenAt)
	case !given:
		return nil, Space.Err(CodeProof, "no proof given")
	case h < 1:
		return nil, Space.Err(CodeInvalid, "proof height %d: a proof is of the state after a block, height 1 or above", h)
	}
	cs := GetConsensus(r, id, h+1)
	if cs == nil {
		return nil, Space.Err(CodeUnverified, "client %s never verified header %d of %s, which carries the app hash of its state at height %d",
			id, h+1, c.ChainID, h)
	}
	return cs, nil
}
