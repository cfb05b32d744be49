package node

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/p2p"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/state"
)

// replicator fetches the blobs of committed records this node does not hold. It follows what
// the application publishes at each commit (app.BlockBlobs: the digests of the blob records a
// block wrote, and whether it erased any), and reads the event log itself only where nothing
// was published: after a restart, for what was committed while it was down, and for a block
// the application could not hand over. In the log, every record.write / record.amend of a
// blob record names a digest this node must hold. A blob not yet fetched is "unavailable" to
// reads (503), never served wrong: only bytes hashing to the committed digest are stored.
// Following the same commits, it marks every committed digest referenced and then sweeps
// uploads no record named within the grace period (the sweep touches only the blob
// directory, never state).
type replicator struct {
	n      *Node
	signer blobs.Signer
	hc     *http.Client
	cursor uint64 // first event not yet followed
	blocks chan app.BlockBlobs

	mu      sync.Mutex
	missing map[[32]byte]uint64 // digest -> event index that named it

	stop, done chan struct{}
}

// replicateEvery is how often the replicator looks for new records and retries fetches.
const replicateEvery = 500 * time.Millisecond

// blockBacklog is how many committed blocks may wait for the replicator (a fetch can take
// minutes); beyond it the replicator reads the missed blocks' events from the log.
const blockBacklog = 4096

func (n *Node) startReplicator(nk *p2p.NodeKey) {
	r := &replicator{n: n, hc: &http.Client{Timeout: 2 * time.Minute}, missing: map[[32]byte]uint64{},
		stop: make(chan struct{}), done: make(chan struct{}), blocks: make(chan app.BlockBlobs, blockBacklog),
		signer: blobs.Signer{ChainID: n.Config.ChainID, NodeID: string(nk.ID()), PubKey: nk.PubKey().Bytes(),
			Sign: nk.PrivKey.Sign}}
	r.cursor = r.loadCursor()
	n.App.OnBlobs(r.blocks)
	n.repl = r
	go r.run()
}

func (r *replicator) cursorFile() string {
	return filepath.Join(r.n.Paths.AppDir(), "blobs", "replicated")
}

func (r *replicator) loadCursor() uint64 {
	b, err := os.ReadFile(r.cursorFile())
	if err != nil {
		return 0
	}
	c, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return c
}

// saveCursor records where a restart may resume: before the oldest blob still missing.
func (r *replicator) saveCursor() {
	c := r.cursor
	r.mu.Lock()
	for _, idx := range r.missing {
		c = min(c, idx)
	}
	r.mu.Unlock()
	os.WriteFile(r.cursorFile(), []byte(strconv.FormatUint(c, 10)+"\n"), 0o600)
}

func (r *replicator) run() {
	defer close(r.done)
	t := time.NewTicker(replicateEvery)
	defer t.Stop()
	last := ""
	for {
		if r.follow() {
			r.sweep()
		}
		if err := r.fetchMissing(); err != nil && err.Error() != last {
			r.n.logf("blob replication: %v (reads of these records answer \"unavailable\" until a peer serves them)", err)
			last = err.Error()
		} else if err == nil {
			last = ""
		}
		r.saveCursor()
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
	}
}

// follow takes in the blocks committed since it last ran: those the application published,
// and from the log those it did not (a gap before a published block, or the log's end beyond
// the last one). It reports whether it reached the end of the log.
func (r *replicator) follow() bool {
	for {
		select {
		case b := <-r.blocks:
			if b.LogEnd <= r.cursor {
				continue // already read from the log
			}
			v := r.n.View()
			if b.LogEnd > v.LogSize() {
				return false // not in this view yet: the next run reads it from the log
			}
			ok := r.scan(v, b.LogStart)
			switch {
			case ok && r.cursor == b.LogStart:
				ok = r.apply(v, b)
			case ok: // a scan stopped inside this block: finish it from the log
				ok = r.scan(v, b.LogEnd)
			}
			if !ok {
				return false // the log has it: the next run reads it from there
			}
		default:
			v := r.n.View()
			return r.scan(v, v.LogSize())
		}
	}
}

// apply takes in one published block, whose events start at the cursor.
func (r *replicator) apply(v *state.View, b app.BlockBlobs) bool {
	for _, d := range b.Written {
		if !r.referenced(d, b.LogStart) {
			return false
		}
	}
	if b.Erasing {
		for i := b.LogStart; i < b.LogEnd; i++ {
			leaf, err := v.Leaf(i)
			if err != nil {
				return false
			}
			if ev, err := audit.Decode(leaf); err == nil && (ev.Action == audit.RecordErase || ev.Action == audit.RecordExpire) {
				if !r.erase(v, ev.Record) {
					return false
				}
			}
		}
	}
	r.cursor = b.LogEnd
	return true
}

// referenced marks a committed blob digest, named by the event at index idx or by the
// block starting there, referenced, and queues its fetch if this node lacks it.
func (r *replicator) referenced(d [32]byte, idx uint64) bool {
	if err := r.n.blobs.MarkReferenced(d); err != nil {
		r.n.logf("blob %x: cannot mark it referenced, replication stops here until it can: %v", d, err)
		return false
	}
	if r.n.blobs.Has(d) {
		return true
	}
	r.mu.Lock()
	if _, ok := r.missing[d]; !ok {
		r.missing[d] = idx
	}
	r.mu.Unlock()
	return true
}

// scan reads the events from the cursor up to end (at most v's log size) from the log; it
// reports whether the cursor reached end.
func (r *replicator) scan(v *state.View, end uint64) bool {
	for ; r.cursor < end; r.cursor++ {
		leaf, err := v.Leaf(r.cursor)
		if err != nil {
			return false
		}
		ev, err := audit.Decode(leaf)
		if err == nil && (ev.Action == audit.RecordErase || ev.Action == audit.RecordExpire) {
			if !r.erase(v, ev.Record) {
				return false
			}
			continue
		}
		if err != nil || (ev.Action != audit.RecordWrite && ev.Action != audit.RecordAmend) || ev.Outcome != audit.Success {
			continue
		}
		m := records.Version(v, ev.Record, ev.Version)
		if m == nil || !m.Blob {
			continue
		}
		if !r.referenced(m.Digest, r.cursor) {
			return false
		}
	}
	return r.cursor >= end
}

// erase deletes the blobs of an erased record from this node's store and stops fetching
// them; it reports false if a deletion failed (the scan retries from this event).
func (r *replicator) erase(v *state.View, id string) bool {
	t := records.Erased(v, id)
	if t == nil {
		return true
	}
	for _, ver := range t.Versions {
		d, err := hex.DecodeString(ver.Digest)
		if !ver.Blob || err != nil || len(d) != 32 {
			continue
		}
		r.mu.Lock()
		delete(r.missing, [32]byte(d))
		r.mu.Unlock()
		if err := r.n.blobs.Delete([32]byte(d)); err != nil {
			r.n.logf("blob %x of erased record %s: cannot delete it, will retry: %v", d, id, err)
			return false
		}
		r.n.logf("blob %x deleted: record %s was erased at height %d", d, id, t.Height)
	}
	return true
}

// sweep deletes uploads no committed record referenced within the grace period. It runs
// right after a scan, so every record committed before the scan has protected its blob.
func (r *replicator) sweep() {
	deleted, err := r.n.blobs.Sweep(time.Now())
	for _, d := range deleted {
		r.n.logf("blob %x deleted: uploaded more than %s ago and no committed record references it", d, r.n.blobs.Policy().Grace)
	}
	if err != nil {
		r.n.logf("blob sweep: %v", err)
	}
}

func (r *replicator) fetchMissing() error {
	r.mu.Lock()
	todo := make([][32]byte, 0, len(r.missing))
	for d := range r.missing {
		todo = append(todo, d)
	}
	r.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	sources := r.n.Config.BlobSources
	if cfg, err := LoadConfig(r.n.Paths.Home); err == nil && len(cfg.BlobSources) > 0 {
		sources = cfg.BlobSources // re-read: a node added to the network becomes a source
	}
	var errs []error
	for _, d := range todo {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-r.stop:
			case <-ctx.Done():
			}
			cancel()
		}()
		err := r.n.blobs.Fetch(ctx, r.hc, sources, r.signer, d, records.MaxBlob)
		cancel()
		if records.BlobErased(r.n.View(), d) {
			// Erased while it was being fetched: the erasure's scan may have run first.
			r.n.blobs.Delete(d)
			r.mu.Lock()
			delete(r.missing, d)
			r.mu.Unlock()
			continue
		}
		if err == nil {
			r.mu.Lock()
			delete(r.missing, d)
			r.mu.Unlock()
			r.n.logf("blob %x replicated from a peer", d)
			continue
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Missing is the number of committed blobs this node does not hold yet.
func (r *replicator) Missing() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.missing)
}

func (r *replicator) close() {
	close(r.stop)
	<-r.done
}

// BlobPeer reports whether node id may fetch blobs from this node: it is one of the
// configured persistent peers or listed in blob_peer_ids. The config file is re-read so a
// node added to the network is served without a restart.
func (n *Node) BlobPeer(id string) bool {
	cfg, err := LoadConfig(n.Paths.Home)
	if err != nil {
		cfg = n.Config
	}
	if _, err := hex.DecodeString(id); err != nil || len(id) != 40 {
		return false
	}
	for _, p := range strings.Split(cfg.Peers+","+n.Config.Peers, ",") {
		if pid, _, ok := strings.Cut(strings.TrimSpace(p), "@"); ok && pid == id {
			return true
		}
	}
	for _, pid := range cfg.BlobPeerIDs {
		if pid == id {
			return true
		}
	}
	return false
}

// BlobsMissing is the number of committed blobs this node still has to fetch.
func (n *Node) BlobsMissing() int {
	if n.repl == nil {
		return 0
	}
	return n.repl.Missing()
}
