package node

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestReadBatchesFitATransaction: however many reads arrive at once, each batch the node
// sends is a transaction the mempool accepts, and no request is lost or reordered. With a
// count limit alone, 2,000 requests of this size made a 466 KB batch, which the mempool
// refused, failing every read in it.
func TestReadBatchesFitATransaction(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	var b batcher
	var sent [][]*pendingRead
	const n = 5000
	for i := range n {
		q := &records.ReadRequest{ChainID: "ehrchain-test", Requester: fmt.Sprintf("%040x", i), Patient: fmt.Sprintf("%040x", i+1),
			Record: fmt.Sprintf("rec-%032x", i), Purpose: "treatment", NotAfter: 1 << 40}
		q.Sign(key)
		if full := b.add(&pendingRead{q: q}, len(q.Encode())+binary.MaxVarintLen32); full != nil {
			sent = append(sent, full)
		}
	}
	sent = append(sent, b.take())
	if len(sent) < 3 {
		t.Fatalf("%d requests went out in %d batches; want the size limit to split them", n, len(sent))
	}
	next := 0
	for i, batch := range sent {
		body := &records.ReadBatch{}
		for _, p := range batch {
			if want := fmt.Sprintf("rec-%032x", next); p.q.Record != want {
				t.Fatalf("batch %d holds %s where %s was next", i, p.q.Record, want)
			}
			next++
			body.Requests = append(body.Requests, p.q)
		}
		w := tx.NewWriter(0)
		body.Encode(w)
		raw := (&tx.Envelope{ChainID: "ehrchain-test", BodyType: records.TypeReadBatch, Body: w.Bytes(), Signature: make([]byte, 64)}).Encode()
		if _, err := tx.Decode(raw); err != nil {
			t.Fatalf("batch %d of %d requests (%d bytes) is not a valid transaction: %v", i, len(batch), len(raw), err)
		}
		if len(batch) > batchMax {
			t.Fatalf("batch %d holds %d requests, over %d", i, len(batch), batchMax)
		}
	}
	if next != n {
		t.Fatalf("%d of %d requests were batched", next, n)
	}
}
