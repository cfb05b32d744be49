package node

import (
	"testing"

	"github.com/cometbft/cometbft/mempool"
	"github.com/cometbft/cometbft/p2p"
	protocons "github.com/cometbft/cometbft/proto/tendermint/consensus"
	protomem "github.com/cometbft/cometbft/proto/tendermint/mempool"
)

// The filter holds back exactly the transactions that came from a peer, and never one this
// node's clients submitted, even when a peer sends it back.
func TestMeshGossipRelaysOnlyLocalTransactions(t *testing.T) {
	g := &meshGossip{local: newTxSet(10), fromPeer: newTxSet(10)}
	own, other := []byte("submitted here"), []byte("from a peer")
	g.local.add(own)
	for _, tx := range [][]byte{own, other} { // what Receive notes, without the mempool
		if !g.local.has(tx) {
			g.fromPeer.add(tx)
		}
	}
	txs := func(ts ...[]byte) p2p.Envelope {
		return p2p.Envelope{ChannelID: mempool.MempoolChannel, Message: &protomem.Txs{Txs: ts}}
	}
	if _, ok := g.relayable(txs(other)); ok {
		t.Error("a transaction received from a peer was relayed")
	}
	e, ok := g.relayable(txs(other, own))
	if got := e.Message.(*protomem.Txs).Txs; !ok || len(got) != 1 || string(got[0]) != string(own) {
		t.Errorf("relayable kept %q (%v), want only the local transaction", got, ok)
	}
	vote := p2p.Envelope{ChannelID: 0x22, Message: &protocons.HasVote{}}
	if _, ok := g.relayable(vote); !ok {
		t.Error("a consensus message was held back")
	}
}

// A full set forgets everything rather than refuse to note: the node then relays more, as
// CometBFT does, and holds back nothing it did not note.
func TestTxSetForgetsWhenFull(t *testing.T) {
	s := newTxSet(2)
	s.add([]byte("a"))
	s.add([]byte("b"))
	s.add([]byte("c"))
	if s.has([]byte("a")) || s.has([]byte("b")) || !s.has([]byte("c")) {
		t.Errorf("after overflow: a=%v b=%v c=%v, want only c", s.has([]byte("a")), s.has([]byte("b")), s.has([]byte("c")))
	}
}
