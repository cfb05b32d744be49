package app

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/tx"
)

func TestTxMemoAnswersOnlyForTheSameBytes(t *testing.T) {
	m := newTxMemo(3, 1<<20)
	a, b := []byte("transaction a"), []byte("transaction b")
	m.put(a, tx.Hash(a))
	if h, ok := m.get(append([]byte(nil), a...)); !ok || h != tx.Hash(a) {
		t.Fatalf("a copy of a: %x %v", h, ok)
	}
	if _, ok := m.get(b); ok {
		t.Fatal("other bytes of the same length found a's entry")
	}
	if _, ok := m.get(a[:len(a)-1]); ok {
		t.Fatal("a prefix found a's entry")
	}
	if _, ok := m.take(a); !ok {
		t.Fatal("take missed")
	}
	if _, ok := m.get(a); ok {
		t.Fatal("take did not forget")
	}
	for i := range 5 { // beyond max: forgets, never answers wrong
		raw := []byte{byte(i)}
		m.put(raw, tx.Hash(raw))
		if h, ok := m.get(raw); !ok || h != tx.Hash(raw) {
			t.Fatalf("entry %d: %x %v", i, h, ok)
		}
	}
	if m.n > m.max {
		t.Fatalf("%d entries, max %d", m.n, m.max)
	}
	big := newTxMemo(100, 10)
	for i := range 5 {
		raw := []byte{byte(i), 1, 2, 3}
		big.put(raw, tx.Hash(raw))
		if big.bytes > big.maxBytes {
			t.Fatalf("%d bytes kept, max %d", big.bytes, big.maxBytes)
		}
	}
	big.take([]byte{4, 1, 2, 3})
	if big.n != 0 || big.bytes != 0 {
		t.Fatalf("after the last take: %d entries, %d bytes", big.n, big.bytes)
	}
}

// A transaction's hash is remembered from admission to its block and then forgotten; a
// rejected one is not remembered at all.
func TestTxMemoFollowsATransactionThroughTheNode(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast()
	ok := h.sign(c.patient, &Noop{Payload: []byte("x")})
	h.seqs[c.patient.ID]-- // replay reuses ok's sequence
	replay := h.sign(c.patient, &Noop{Payload: []byte("y")})
	h.app.Preverify(ok, tx.Hash(ok))
	if _, hit := h.app.memo.get(ok); !hit {
		t.Fatal("Preverify did not remember the hash")
	}
	for _, raw := range [][]byte{ok, replay} {
		h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
	}
	if _, hit := h.app.memo.get(replay); hit {
		t.Fatal("a transaction CheckTx rejected is still remembered")
	}
	h.mustOK(ok)
	if h.app.memo.n != 0 {
		t.Fatalf("%d hashes remembered after the block", h.app.memo.n)
	}
}
