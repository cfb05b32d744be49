package app

import (
	"sync/atomic"

	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/records"
)

// BlockBlobs is what one committed block changed in the blobs a node must hold: the blob
// records it wrote (whose bytes a node fetches from its peers) and whether it erased or
// expired records (whose blobs a node deletes). The node's blob replicator follows these
// instead of decoding every event of the log.
type BlockBlobs struct {
	Height int64
	// LogStart and LogEnd bound the block's audit events, [LogStart, LogEnd).
	LogStart, LogEnd uint64
	// Written are the digests of the blob records written or amended, in block order.
	Written [][32]byte
	// Erasing says an erasure or expiry committed; its events name the records.
	Erasing bool
}

// blobFeed collects the current block's BlockBlobs and hands them, at commit, to the
// channel OnBlobs registered.
type blobFeed struct {
	ch  atomic.Pointer[chan<- BlockBlobs]
	cur BlockBlobs
}

// OnBlobs registers ch to receive every committed block's BlockBlobs, in order. Commit
// never waits for the receiver: a block that finds ch full is not sent, and the receiver
// knows it by the gap (a LogStart beyond what it has seen) and reads those events from the
// log. Blocks committed before OnBlobs is called are likewise only in the log.
func (a *App) OnBlobs(ch chan<- BlockBlobs) { a.blobs.ch.Store(&ch) }

// noteBlobs records what a transaction that executed successfully did to blobs.
func (a *App) noteBlobs(body any) {
	switch b := body.(type) {
	case *records.PutBody:
		if b.Meta.Blob {
			a.blobs.cur.Written = append(a.blobs.cur.Written, b.Meta.Digest)
		}
	case *emergency.UrgentPutBody:
		if b.Meta.Blob {
			a.blobs.cur.Written = append(a.blobs.cur.Written, b.Meta.Digest)
		}
	case *erasure.EraseBody, *erasure.ExpireBody:
		a.blobs.cur.Erasing = true
	}
}

// publishBlobs sends the committed block's BlockBlobs, if anyone listens.
func (a *App) publishBlobs(height int64, logEnd uint64) {
	b := a.blobs.cur
	a.blobs.cur = BlockBlobs{LogStart: logEnd}
	p := a.blobs.ch.Load()
	if p == nil {
		return
	}
	b.Height, b.LogEnd = height, logEnd
	select {
	case *p <- b:
	default:
	}
}
