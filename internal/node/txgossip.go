package node

import (
	"hash/maphash"
	"sync"

	"github.com/cometbft/cometbft/mempool"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	protomem "github.com/cometbft/cometbft/proto/tendermint/mempool"
)

// In a full mesh (every validator a persistent peer of every other, as testnets and
// hospital networks are laid out) a transaction reaches every validator straight from the
// node its client submitted it to. CometBFT's flood mempool still relays what it got from
// one peer to all the others, so with four validators each of the three others received a
// write three times: every copy encrypted, sent, decrypted, hashed twice and formatted as hex
// for a debug line before the mempool cache refused it. With FullMesh set the node sends its
// peers only the transactions that did not reach it from a peer.

// meshGossip wraps CometBFT's mempool reactor: it notes the transactions that arrive from
// peers and hands each peer to the reactor behind a filter that does not send those. It
// embeds the reactor itself, not an interface, so that what CometBFT asks of the reactor it
// finds by name (blocksync enables its gossip by EnableInOutTxs) still reaches it.
type meshGossip struct {
	*mempool.Reactor
	local    *txSet // submitted to this node (Broadcast)
	fromPeer *txSet // first met from a peer: not relayed
}

// installMeshGossip replaces the node's mempool reactor by meshGossip over it. It runs as a
// CometBFT node option, before the switch starts.
func (n *Node) installMeshGossip(max int) nm.Option {
	return func(c *nm.Node) {
		inner, ok := c.MempoolReactor().(*mempool.Reactor)
		if !ok {
			return // another mempool type gossips by its own rules
		}
		g := &meshGossip{Reactor: inner, local: newTxSet(max), fromPeer: newTxSet(max)}
		sw := c.Switch()
		sw.RemoveReactor("MEMPOOL", inner)
		sw.AddReactor("MEMPOOL", g)
		n.gossip = g
	}
}

// Receive notes the transactions of a peer's message that this node did not have from a
// client, then lets the mempool check them as usual.
func (g *meshGossip) Receive(e p2p.Envelope) {
	if m, ok := e.Message.(*protomem.Txs); ok {
		for _, t := range m.Txs {
			if !g.local.has(t) {
				g.fromPeer.add(t)
			}
		}
	}
	g.Reactor.Receive(e)
}

// AddPeer starts the reactor's broadcast to p through the filter.
func (g *meshGossip) AddPeer(p p2p.Peer) { g.Reactor.AddPeer(meshPeer{Peer: p, g: g}) }

// meshPeer is a peer as the mempool reactor's broadcast sees it: transactions that came
// from a peer are reported sent without being sent.
type meshPeer struct {
	p2p.Peer
	g *meshGossip
}

func (p meshPeer) Send(e p2p.Envelope) bool {
	e, ok := p.g.relayable(e)
	return !ok || p.Peer.Send(e)
}

func (p meshPeer) TrySend(e p2p.Envelope) bool {
	e, ok := p.g.relayable(e)
	return !ok || p.Peer.TrySend(e)
}

// relayable is e without the transactions that came from a peer; false when none is left.
func (g *meshGossip) relayable(e p2p.Envelope) (p2p.Envelope, bool) {
	m, ok := e.Message.(*protomem.Txs)
	if e.ChannelID != mempool.MempoolChannel || !ok {
		return e, true
	}
	keep := m.Txs[:0:0]
	for _, t := range m.Txs {
		if !g.fromPeer.has(t) {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		return e, false
	}
	if len(keep) < len(m.Txs) {
		e.Message = &protomem.Txs{Txs: keep}
	}
	return e, true
}

// txSet is a bounded set of transactions, by a keyed 64-bit hash of their bytes (the seed is
// random per process, so no one can aim a collision; one would only keep a transaction from
// being relayed, never admit anything). When full it forgets everything: the node then relays
// a little more, which is CometBFT's own behaviour.
type txSet struct {
	mu   sync.Mutex
	seed maphash.Seed
	m    map[uint64]struct{}
	max  int
}

func newTxSet(max int) *txSet {
	return &txSet{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}, max: max}
}

func (s *txSet) add(tx []byte) {
	k := maphash.Bytes(s.seed, tx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		clear(s.m)
	}
	s.m[k] = struct{}{}
}

func (s *txSet) has(tx []byte) bool {
	k := maphash.Bytes(s.seed, tx)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[k]
	return ok
}
