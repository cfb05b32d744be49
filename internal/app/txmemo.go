package app

import (
	"bytes"
	"hash/maphash"
	"sync"
)

// txMemo remembers the SHA-256 hash of the transactions this node has met, so a
// transaction is hashed once per node although it passes Broadcast, CheckTx, every recheck
// while it waits in the mempool and FinalizeBlock. Entries are found by a fast
// non-cryptographic hash of the bytes and a hit compares the bytes in full, so what a hit
// returns is exactly tx.Hash of the bytes given. The memo keeps the caller's slice, not a
// copy: transaction bytes are never modified once submitted (CometBFT's mempool keeps and
// gossips the same slice). It is bounded in entries and in the bytes it keeps alive (a
// submission the mempool refuses is never taken out), and forgets everything when full.
type txMemo struct {
	mu       sync.Mutex
	seed     maphash.Seed
	m        map[uint64][]memoEntry
	n, bytes int
	max      int // entries
	maxBytes int
}

type memoEntry struct {
	raw  []byte
	hash [32]byte
}

func newTxMemo(max, maxBytes int) *txMemo {
	return &txMemo{seed: maphash.MakeSeed(), m: map[uint64][]memoEntry{}, max: max, maxBytes: maxBytes}
}

// put remembers that raw hashes to h.
func (c *txMemo) put(raw []byte, h [32]byte) {
	k := maphash.Bytes(c.seed, raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.m[k] {
		if bytes.Equal(e.raw, raw) {
			return
		}
	}
	if c.n >= c.max || c.bytes+len(raw) > c.maxBytes {
		clear(c.m) // a miss costs one hash, never a wrong answer
		c.n, c.bytes = 0, 0
	}
	c.m[k] = append(c.m[k], memoEntry{raw: raw, hash: h})
	c.n++
	c.bytes += len(raw)
}

// get returns raw's hash if it is remembered; take also forgets it.
func (c *txMemo) get(raw []byte) ([32]byte, bool)  { return c.find(raw, false) }
func (c *txMemo) take(raw []byte) ([32]byte, bool) { return c.find(raw, true) }

func (c *txMemo) find(raw []byte, forget bool) ([32]byte, bool) {
	k := maphash.Bytes(c.seed, raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	es := c.m[k]
	for i, e := range es {
		if !bytes.Equal(e.raw, raw) {
			continue
		}
		if forget {
			if len(es) == 1 {
				delete(c.m, k)
			} else {
				c.m[k] = append(es[:i:i], es[i+1:]...)
			}
			c.n--
			c.bytes -= len(raw)
		}
		return e.hash, true
	}
	return [32]byte{}, false
}

// forget drops raw's entry, if any.
func (c *txMemo) forget(raw []byte) { c.find(raw, true) }
