package emergency

import (
	"encoding/binary"
	"fmt"
	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/records"
	"slices"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
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
	// A pooled transaction the mempool offered too is recognised by signer and sequence:
	// CheckTx admits one transaction per signer and sequence, and hashing a full block
	// would cost tens of milliseconds.
	type slot struct {
		signer [tx.SignerLen]byte
		seq    uint64
	}
	offered := map[slot]bool{}
	items := make([]item, 0, len(txs)+len(extra))
	for _, t := range txs {
		it := classify(t)
		if it.prio && it.signed {
			offered[slot{it.signer, it.seq}] = true
		}
		items = append(items, it)
	}
	fromPool := len(items)
	for _, t := range extra {
		if it := classify(t); !offered[slot{it.signer, it.seq}] {
			items = append(items, it)
		}
	}
	blocked := map[[tx.SignerLen]byte]bool{}
	dropped := map[[tx.SignerLen]byte]bool{}
	expect := map[[tx.SignerLen]byte]uint64{}
	var lane, rest, tail [][]byte
	var laneBytes int64
	late := map[[tx.SignerLen]byte]bool{} // signers whose emergency transaction overflowed the lane
	for i, it := range items {
		pooled := i >= fromPool
		if it.signed && dropped[it.signer] {
			continue
		}
		if it.signed && late[it.signer] {
			if !pooled {
				tail = append(tail, it.raw)
			}
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
			// Over the lane: after the routine transactions, so that a burst of emergency
			// traffic cannot crowd them out of the block.
			late[it.signer] = true
			if !pooled {
				tail = append(tail, it.raw)
			}
		default:
			lane = append(lane, it.raw)
			laneBytes += sz
			expect[it.signer] = want + 1
		}
	}
	out := make([][]byte, 0, len(lane)+len(rest)+len(tail))
	var total int64
	for _, t := range slices.Concat(lane, rest, tail) {
		sz := protoSize(len(t))
		if total+sz > maxBytes {
			break
		}
		out = append(out, t)
		total += sz
	}
	return out
}

// CheckOrder validates a proposal's order (deterministically, from its bytes only). The
// lane is the longest run of emergency transactions at the head of the block that fits in
// LaneBytes. After it, an emergency transaction that would still have fitted in the lane
// is refused, unless a transaction of the same signer precedes it there (its sequence
// kept it back).
func CheckOrder(txs [][]byte) error {
	var laneBytes int64
	i := 0
	for ; i < len(txs); i++ {
		it := classify(txs[i])
		sz := protoSize(len(it.raw))
		if !it.prio || laneBytes+sz > LaneBytes {
			break
		}
		laneBytes += sz
	}
	first := i
	seen := map[[tx.SignerLen]byte]bool{} // signers with a transaction after the lane
	for ; i < len(txs); i++ {
		it := classify(txs[i])
		if it.prio && (!it.signed || !seen[it.signer]) && laneBytes+protoSize(len(it.raw)) <= LaneBytes {
			return fmt.Errorf("emergency transaction %d follows routine transaction %d although it fits in the emergency lane", i, first)
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

// Admit is the mempool's check for the emergency lane (CheckTx, not consensus): an
// emergency transaction is admitted only if it could execute against the committed state
// at the last block time (zero: not known yet, no window check), so an identity that may not
// use the lane cannot fill it. The block still decides.
func Admit(r Reader, signer string, body any, at time.Time) *tx.Error {
	switch b := body.(type) {
	case *DeclareBody:
		if who := identity.Get(r, signer); who == nil || who.Role != identity.Provider {
			return Space.Err(CodeUnauthorized, "only a provider may declare an emergency; the signer %s is not one", signer)
		}
	case *ReleaseBody:
		if c := GetCustodian(r, signer); c == nil || !c.Active {
			return Space.Err(CodeUnauthorized, "%s is not an active escrow custodian", signer)
		}
		d := GetDeclaration(r, b.Declaration)
		if d == nil {
			return Space.Err(CodeNotFound, "no emergency declaration %s", b.Declaration)
		}
		if !at.IsZero() && !at.Before(d.Expiry) {
			return Space.Err(CodeWindow, "declaration %s window closed at %s", d.ID, d.Expiry.Format(time.RFC3339))
		}
		if p := identity.Get(r, d.Provider); p == nil || !p.Active {
			return Space.Err(CodeUnauthorized, "the declaring provider %s is no longer active", d.Provider)
		}
	case *UrgentPutBody:
		if at.IsZero() { // before the first block since start: any declaration of the signer's
			if !slices.ContainsFunc(Declarations(r, b.Meta.Patient), func(d *Declaration) bool { return d.Provider == signer }) {
				return Space.Err(CodeWindow, "an urgent write needs an emergency declaration by you for patient %s", b.Meta.Patient)
			}
			return nil
		}
		who := identity.Get(r, signer)
		if who == nil {
			return Space.Err(CodeUnauthorized, "signer %s is not registered", signer)
		}
		if d := records.DecideWrite(r, who, &b.Meta, access.Emergency, at, Facts); !d.Allowed {
			return Space.Err(CodeWindow, "an urgent write needs an active emergency declaration by you for patient %s: %s", b.Meta.Patient, d.Reason)
		}
	}
	return nil
}
