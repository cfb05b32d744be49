package node

import (
	"sync"
	"time"
)

// CometBFT deletes pruned blocks from its block store, but goleveldb gives their space (and
// their bytes: an erased record's inline ciphertext travelled in a block) back only when it
// compacts the files that hold them, which a store that only grows at its head seldom does.
// The compactor compacts the block store each time pruning has moved its base up by
// keep_blocks since the last compaction; it also trims the consensus WAL (waltrim.go) each
// time the chain has grown by keep_blocks. It runs on this node only, outside consensus.
type compactor struct {
	n          *Node
	every      int64 // blocks of base advance between compactions
	wal        walTrimmer
	stop, done chan struct{}
	stopOnce   sync.Once
}

// compactCheck is how often the compactor looks at the block store's base.
const compactCheck = 2 * time.Second

func (n *Node) startCompactor() {
	c := n.Config.Pruning
	if c == nil || c.KeepBlocks <= 0 {
		return
	}
	k := &compactor{n: n, every: c.KeepBlocks, wal: walTrimmer{n: n}, stop: make(chan struct{}), done: make(chan struct{})}
	n.compact = k
	go k.run()
}

func (k *compactor) run() {
	defer close(k.done)
	t := time.NewTicker(compactCheck)
	defer t.Stop()
	last, trimmed := k.n.BlockBase(), k.n.cmt.BlockStore().Height()
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
		}
		// The WAL needs only the current height, so it is trimmed as the tip moves, not as
		// pruning does (which waits for snapshots).
		if h := k.n.cmt.BlockStore().Height(); h-trimmed >= k.every {
			k.wal.trim()
			trimmed = h
		}
		base := k.n.BlockBase()
		if base-last < k.every {
			continue
		}
		db := k.n.cometDB("blockstore")
		if db == nil {
			continue
		}
		start := time.Now()
		if err := db.Compact(nil, nil); err != nil {
			k.n.logf("block store compaction after pruning: %v", err)
			continue
		}
		k.n.logf("block store compacted after pruning below height %d (%s)", base, time.Since(start).Round(time.Millisecond))
		last = base
	}
}

// close stops the compactor, after the compaction in progress if there is one.
func (k *compactor) close() {
	k.stopOnce.Do(func() { close(k.stop) })
	<-k.done
}

// cometDB is the open CometBFT database named id ("blockstore", "state", ...), or nil.
func (n *Node) cometDB(id string) *stoppingDB {
	n.dbMu.Lock()
	defer n.dbMu.Unlock()
	for _, db := range n.dbs {
		if db.id == id && !db.closed.Load() {
			return db
		}
	}
	return nil
}
