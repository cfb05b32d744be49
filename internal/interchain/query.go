package interchain

import (
	"bytes"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// ClientInfo is a client with its latest verified consensus state, as the API shows it.
type ClientInfo struct {
	Height int64      `json:"height"` // our height the answer is read at
	Client *Client    `json:"client"`
	Latest *Consensus `json:"latest"`
	// Below, when asked for, is the highest verified consensus state below a counterparty
	// height: where a relayer fills in a header from (nil: none below it).
	Below *Consensus `json:"below,omitempty"`
}

// Ranger is committed state read in key order (state.View).
type Ranger interface {
	tx.Getter
	IterateFrom(prefix, from []byte, fn func(key, value []byte) bool)
}

// InfoBelow is Info with the highest consensus state verified below counterparty height h.
func InfoBelow(r Ranger, height int64, id string, h int64) (*ClientInfo, *tx.Error) {
	if h < 1 {
		return nil, Space.Err(CodeInvalid, "below must be a counterparty height of 1 or more, got %d", h)
	}
	info, err := Info(r, height, id)
	if err != nil {
		return nil, err
	}
	info.Below = Below(r, id, h)
	return info, nil
}

// Below is the client's highest verified consensus state below counterparty height h, or
// nil. Heights are zero-padded in ConsensusKey, so key order is height order; the scan
// gallops down from h (h-1, h-2, h-4, ...) and reads at most about twice the gap between
// h and the answer, not every state the client kept.
func Below(r Ranger, id string, h int64) *Consensus {
	prefix := ConsensusKey(id, 0)
	prefix = prefix[:len(prefix)-20]
	end := ConsensusKey(id, h)
	for step := int64(1); step > 0; step *= 2 {
		from := max(h-step, 0)
		var last []byte
		r.IterateFrom(prefix, ConsensusKey(id, from), func(k, _ []byte) bool {
			if bytes.Compare(k, end) >= 0 {
				return false
			}
			last = bytes.Clone(k)
			return true
		})
		if last != nil {
			return tx.LoadJSON[Consensus](r, last, "interchain")
		}
		if from == 0 {
			return nil
		}
	}
	return nil
}

// Info reads a client and its latest consensus state.
func Info(r tx.Getter, height int64, id string) (*ClientInfo, *tx.Error) {
	c := GetClient(r, id)
	if c == nil {
		return nil, Space.Err(CodeNotFound, "no light client %s", id)
	}
	return &ClientInfo{Height: height, Client: c, Latest: GetConsensus(r, id, c.LatestHeight)}, nil
}

// CheckRequest asks whether a proof of the counterparty's state verifies against a client:
// either a state value (Key, with Value, or Absent) or an event.
type CheckRequest struct {
	Key    []byte      `json:"key,omitempty"`
	Value  []byte      `json:"value,omitempty"`
	Absent bool        `json:"absent,omitempty"` // prove Key is not in the state
	Proof  *StateProof `json:"proof,omitempty"`
	Event  *EventProof `json:"event,omitempty"`
}

// CheckResult is a proof that verified: the counterparty header that vouches for it.
type CheckResult struct {
	Height      int64        `json:"height"`      // our height the answer is read at
	ProvenAt    int64        `json:"proven_at"`   // the counterparty state the proof is of
	HeaderBy    int64        `json:"header"`      // the verified counterparty header carrying its app hash
	AppHash     []byte       `json:"app_hash"`    // that header's app hash
	VerifiedAt  int64        `json:"verified_at"` // our height that header was verified at
	ProvenEvent *audit.Event `json:"event,omitempty"`
}

// Check runs the check a transaction citing the proof would run (VerifyState or
// VerifyEvent), on a committed view: what a relayer or client asks before submitting.
func Check(r tx.Getter, height int64, id string, q *CheckRequest) (*CheckResult, *tx.Error) {
	switch {
	case q.Event != nil && q.Proof != nil:
		return nil, Space.Err(CodeInvalid, "give a state proof or an event proof, not both")
	case q.Event != nil:
		ev, err := VerifyEvent(r, id, q.Event)
		if err != nil {
			return nil, err
		}
		return result(r, height, id, q.Event.Height, ev), nil
	case len(q.Key) == 0:
		return nil, Space.Err(CodeInvalid, "a state proof names the key it proves")
	case q.Absent != (q.Value == nil):
		return nil, Space.Err(CodeInvalid, "give the value the key holds, or absent: true, not both")
	}
	if err := VerifyState(r, id, q.Proof, q.Key, q.Value); err != nil {
		return nil, err
	}
	return result(r, height, id, q.Proof.Height, nil), nil
}

func result(r tx.Getter, height int64, id string, h int64, ev *audit.Event) *CheckResult {
	cs := GetConsensus(r, id, h+1)
	return &CheckResult{Height: height, ProvenAt: h, HeaderBy: cs.Height, AppHash: cs.AppHash, VerifiedAt: cs.VerifiedAt, ProvenEvent: ev}
}
