package node

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Read batching: requests arriving within batchWindow (or until batchMax requests or
// batchBytes) travel in one transaction, so reads are not limited to one transaction each.
// batchBytes keeps the batch under the mempool's transaction size limit, with room for the
// envelope: 2,000 requests of 233 bytes would not fit.
const (
	batchWindow = 5 * time.Millisecond
	batchMax    = 2000
	batchBytes  = tx.MaxTxBytes - 1024
)

type pendingRead struct {
	q    *records.ReadRequest
	done chan readResult
}

type readResult struct {
	out *records.Outcome
	err error
}

type batcher struct {
	mu      sync.Mutex
	pending []*pendingRead
	bytes   int // encoded size of pending, as a batch body
	timer   *time.Timer
}

// add queues p (size bytes in a batch body) and returns the batch to send now, if one is
// full: the queue as it was when p would not fit, or the queue with p once it holds
// batchMax requests. The caller holds mu.
func (b *batcher) add(p *pendingRead, size int) []*pendingRead {
	var full []*pendingRead
	if len(b.pending) > 0 && b.bytes+size > batchBytes {
		full = b.take()
	}
	b.pending = append(b.pending, p)
	b.bytes += size
	if full == nil && len(b.pending) >= batchMax {
		full = b.take()
	}
	return full
}

// Read records a signed read request on the ledger and returns the committed decision.
// Nothing may be released to the requester unless this returns an allowed outcome: the
// access event is committed before the caller sees the decision (audit fails closed).
func (n *Node) Read(ctx context.Context, q *records.ReadRequest) (*records.Outcome, error) {
	if q.NotAfter < time.Now().Unix() {
		return nil, tx.Space.Err(tx.CodeMalformed, "the read request expired at %s; sign a new one", time.Unix(q.NotAfter, 0).UTC().Format(time.RFC3339))
	}
	p := &pendingRead{q: q, done: make(chan readResult, 1)}
	n.reads.mu.Lock()
	full := n.reads.add(p, len(q.Encode())+binary.MaxVarintLen32)
	if full != nil {
		go n.flushReads(full)
	}
	switch {
	case len(n.reads.pending) == 0:
		n.reads.mu.Unlock()
	case n.reads.timer == nil:
		n.reads.timer = time.AfterFunc(batchWindow, func() {
			n.reads.mu.Lock()
			batch := n.reads.take()
			n.reads.mu.Unlock()
			n.flushReads(batch)
		})
		n.reads.mu.Unlock()
	default:
		n.reads.mu.Unlock()
	}
	select {
	case r := <-p.done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// take empties the queue; the caller holds mu.
func (b *batcher) take() []*pendingRead {
	batch := b.pending
	b.pending, b.bytes = nil, 0
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	return batch
}

// flushReads sends the batch as one transaction. Its requests' signatures are verified
// here, together (App.VerifyReads), rather than one by one as they arrive: a request that
// fails is answered on its own and left out, so it cannot sink the others.
func (n *Node) flushReads(batch []*pendingRead) {
	qs := make([]*records.ReadRequest, len(batch))
	for i, p := range batch {
		qs[i] = p.q
	}
	errs := n.App.VerifyReads(qs)
	body := &records.ReadBatch{}
	good := batch[:0:0]
	for i, p := range batch {
		if errs[i] != nil {
			p.done <- readResult{err: errs[i]}
			continue
		}
		good = append(good, p)
		body.Requests = append(body.Requests, p.q)
	}
	batch = good
	if len(batch) == 0 {
		return
	}
	w := tx.NewWriter(len(batch) * 230)
	body.Encode(w)
	env := &tx.Envelope{ChainID: n.Config.ChainID, BodyType: records.TypeReadBatch, Body: w.Bytes(), Signature: make([]byte, 64)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := n.Broadcast(ctx, env.Encode(), true)
	if err == nil && res.Code != 0 {
		err = fmt.Errorf("read batch rejected: %s/%d %s", res.Codespace, res.Code, res.Log)
	}
	view := n.View()
	for _, p := range batch {
		if err != nil {
			p.done <- readResult{err: err}
			continue
		}
		// Only an outcome recorded by this batch releases anything: a request replayed from
		// an old block finds the earlier outcome, which is not a record of this access.
		out := records.Result(view, p.q)
		if out == nil || out.Tx != res.Hash {
			p.done <- readResult{err: fmt.Errorf("the read request was void (expired, replayed or for another chain) and was not recorded")}
			continue
		}
		p.done <- readResult{out: out}
	}
}
