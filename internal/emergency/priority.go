package emergency

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Priority: declarations, releases and urgent writes go first in a block, in an emergency
// lane of at most LaneBytes. Routine transactions keep the rest of the block, so a burst of
// emergency traffic cannot starve them, and only identities that can be held to account
// (a provider who declares, a custodian, a provider under an active declaration) can use
// the lane. Execution stays in block order, so the lane is simply the block's head.

// LaneBytes bounds the emergency lane of a block that also carries routine transactions.
// It is a constant, not a share of the proposer's limit, so every validator checks a
// proposal against the same number.
const LaneBytes = 8 << 20

// Priority reports whether a body type belongs in the emergency lane.
func Priority(t tx.Type) bool { return t == TypeDeclare || t == TypeRelease || t == TypeUrgentPut }

// item is one transaction as ordering sees it.
type item struct {
	raw    []byte
	prio   bool
	signer [tx.SignerLen]byte
	signed bool
	seq    uint64
}

func classify(raw []byte) item {
	it := item{raw: raw}
	env, err := tx.Decode(raw)
	if err != nil {
		return it // undecodable: routine (it fails in the block)
	}
	it.prio = Priority(env.BodyType)
	it.signer, it.seq = env.Signer, env.Sequence
	it.signed = env.Signer != [tx.SignerLen]byte{}
	return it
}

// protoSize is what a transaction adds to a block's data (CometBFT's size accounting).
func protoSize(n int) int64 { return int64(1 + len(binary.AppendUvarint(nil, uint64(n))) + n) }

// Order builds a proposal: promotable emergency transactions first (up to LaneBytes), then
// the routine ones in mempool order, within maxBytes. txs is what the mempool offered, in
// its order; extra are emergency transactions the mempool holds beyond that (from the
// Pool). next gives a signer's next committed sequence: a transaction is promoted only if
// it is its signer's next one, so moving it forward never breaks a signer's sequence. An
// emergency transaction behind a routine one of the same signer stays behind it.
func Order(txs, extra [][]byte, maxBytes int64, next func(signer [tx.SignerLen]byte) uint64) [][]byte {
	offered := make(map[[32]byte]bool, len(txs))
	items := make([]item, 0, len(txs)+len(extra))
	for _, t := range txs {
		offered[sha256.Sum256(t)] = true
		items = append(items, classify(t))
	}
	fromPool := len(items)
	for _, t := range extra {
		if !offered[sha256.Sum256(t)] {
			items = append(items, classify(t))
		}
	}
	blocked := map[[tx.SignerLen]byte]bool{}
	dropped := map[[tx.SignerLen]byte]bool{}
	expect := map[[tx.SignerLen]byte]uint64{}
	var lane, rest [][]byte
	var laneBytes int64
	for i, it := range items {
		pooled := i >= fromPool
		if it.signed && dropped[it.signer] {
			continue
		}
		if !it.prio || !it.signed || blocked[it.signer] {
			if it.signed {
				blocked[it.signer] = true
			}
			if !pooled {
				rest = append(rest, it.raw)
			}
			continue
		}
		want, ok := expect[it.signer]
		if !ok {
			want = next(it.signer)
		}
		sz := protoSize(len(it.raw))
		switch {
		case it.seq != want:
			// Not its signer's next transaction: it and the signer's later ones cannot
			// execute in this block; they stay in the mempool.
			dropped[it.signer] = true
		case laneBytes+sz > LaneBytes:
			blocked[it.signer] = true
			if !pooled {
				rest = append(rest, it.raw)
			}
		default:
			lane = append(lane, it.raw)
			laneBytes += sz
			expect[it.signer] = want + 1
		}
	}
	out := make([][]byte, 0, len(lane)+len(rest))
	var total int64
	for _, t := range append(lane, rest...) {
		sz := protoSize(len(t))
		if total+sz > maxBytes {
			break
		}
		out = append(out, t)
		total += sz
	}
	return out
}

// CheckOrder validates a proposal's order (deterministically, from its bytes only): when a
// block carries both kinds, no emergency transaction may follow a routine one if it would
// still have fitted in the lane, unless a routine transaction of the same signer precedes
// it; and the lane must not exceed LaneBytes.
func CheckOrder(txs [][]byte) error {
	var laneBytes int64
	routine := -1
	seen := map[[tx.SignerLen]byte]bool{} // signers with a transaction in the routine part
	hasRoutine := false
	items := make([]item, len(txs))
	for i, t := range txs {
		items[i] = classify(t)
		if !items[i].prio {
			hasRoutine = true
		}
	}
	for i, it := range items {
		sz := protoSize(len(it.raw))
		switch {
		case routine < 0 && it.prio:
			laneBytes += sz
			if hasRoutine && laneBytes > LaneBytes {
				return fmt.Errorf("emergency lane exceeds %d bytes at transaction %d and would starve routine transactions", LaneBytes, i)
			}
			continue
		case routine < 0:
			routine = i
		case it.prio && (!it.signed || !seen[it.signer]) && laneBytes+sz <= LaneBytes:
			return fmt.Errorf("emergency transaction %d follows routine transaction %d although it fits in the emergency lane", i, routine)
		}
		if it.signed {
			seen[it.signer] = true
		}
	}
	return nil
}

// Pool remembers emergency transactions the mempool admitted, so a proposer can put them
// in the next block even when the mempool offers only its oldest transactions. It holds
// at most max transactions, oldest first; committed or evicted ones are removed.
type Pool struct {
	mu    sync.Mutex
	max   int
	order [][32]byte
	txs   map[[32]byte][]byte
}

// NewPool returns a pool of at most max transactions.
func NewPool(max int) *Pool { return &Pool{max: max, txs: map[[32]byte][]byte{}} }

// Add remembers raw if it is an emergency transaction and the pool has room.
func (p *Pool) Add(h [32]byte, raw []byte) {
	if !classify(raw).prio {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.txs[h]; ok || len(p.txs) >= p.max {
		return
	}
	p.txs[h] = raw
	p.order = append(p.order, h)
}

// Remove forgets transactions (committed, or dropped from the mempool).
func (p *Pool) Remove(hs ...[32]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.txs)
	for _, h := range hs {
		delete(p.txs, h)
	}
	if len(p.txs) == n {
		return
	}
	keep := p.order[:0]
	for _, h := range p.order {
		if _, ok := p.txs[h]; ok {
			keep = append(keep, h)
		}
	}
	p.order = keep
}

// Pending returns the remembered transactions, oldest first.
func (p *Pool) Pending() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]byte, 0, len(p.order))
	for _, h := range p.order {
		out = append(out, p.txs[h])
	}
	return out
}
