package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/snapshot"
	"github.com/ehrchain/ehrchain/internal/state"
)

// snapshots is the application's side of state sync: taking snapshots after commits and
// restoring one offered by peers. It runs outside consensus: a snapshot is a node-local
// file, and a restore happens before this node executes any block.
type snapshots struct {
	dir      *snapshot.Dir // nil: this node serves no snapshots
	interval int64

	newest atomic.Uint64 // height of the newest completed snapshot, 0: none (pruning.go)

	mu      sync.Mutex
	running bool              // a snapshot is being written
	restore *snapshot.Session // the snapshot being restored
}

// ServeSnapshots makes the application write a snapshot into dir after every interval-th
// block and offer the ones dir keeps to joining nodes.
func (a *App) ServeSnapshots(dir *snapshot.Dir, interval int64) {
	a.snaps.dir, a.snaps.interval = dir, interval
	if infos, err := dir.List(); err == nil && len(infos) > 0 {
		a.snaps.newest.Store(infos[0].Height)
	}
}

// maybeSnapshot starts writing the snapshot of the height just committed, if one is due.
// It runs on the consensus goroutine right after the store's commit, so the export sees
// exactly that height; the writing itself happens in the background.
func (a *App) maybeSnapshot(c state.Commit) {
	s := &a.snaps
	if s.dir == nil || s.interval <= 0 || c.Height%s.interval != 0 {
		return
	}
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		a.logf("snapshot of height %d skipped: the previous one is still being written", c.Height)
		return
	}
	s.running = true
	s.mu.Unlock()
	began := time.Now()
	p, err := s.dir.Freeze(a.st, uint64(c.Height))
	froze := time.Since(began)
	if err != nil {
		a.logf("snapshot of height %d: %v", c.Height, err)
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		return
	}
	go func() {
		defer func() {
			s.mu.Lock()
			s.running = false
			s.mu.Unlock()
		}()
		info, err := p.Write()
		if errors.Is(err, snapshot.ErrClosed) {
			return
		}
		if err != nil {
			a.logf("snapshot of height %d: %v", c.Height, err)
			return
		}
		if info.Height > s.newest.Load() {
			s.newest.Store(info.Height)
		}
		a.logf("snapshot height=%d chunks=%d hash=%X (checkpoint %v in the commit, written in %v)",
			info.Height, info.Chunks, info.Hash, froze.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	}()
}

// ListSnapshots offers the snapshots this node keeps.
func (a *App) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	out := &abci.ResponseListSnapshots{}
	if a.snaps.dir == nil {
		return out, nil
	}
	infos, err := a.snaps.dir.List()
	if err != nil {
		return nil, err
	}
	for _, i := range infos {
		out.Snapshots = append(out.Snapshots, &abci.Snapshot{Height: i.Height, Format: i.Format, Chunks: i.Chunks,
			Hash: i.Hash, Metadata: i.Metadata})
	}
	return out, nil
}

// LoadSnapshotChunk serves one chunk; an empty answer means this node does not hold it.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	if a.snaps.dir == nil {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	b, err := a.snaps.dir.Chunk(req.Height, req.Format, req.Chunk)
	if errors.Is(err, snapshot.ErrNoChunk) {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &abci.ResponseLoadSnapshotChunk{Chunk: b}, nil
}

// OfferSnapshot accepts a snapshot to restore if this node holds no state yet and the
// snapshot is well formed. req.AppHash is the app hash of the snapshot's height from a
// header CometBFT's light client verified; the restore is checked against it at the end.
func (a *App) OfferSnapshot(_ context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	s := &a.snaps
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restore != nil { // an earlier snapshot was given up on
		s.restore.Abort()
		s.restore = nil
	}
	if c := a.st.LastCommit(); c.Height > 0 {
		a.logf("state sync offered a snapshot but this node already holds height %d", c.Height)
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_ABORT}, nil
	}
	sn := req.Snapshot
	if sn == nil {
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_REJECT}, nil
	}
	if sn.Format != snapshot.Format {
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_REJECT_FORMAT}, nil
	}
	info := snapshot.Info{Height: sn.Height, Format: sn.Format, Chunks: sn.Chunks, Hash: sn.Hash, Metadata: sn.Metadata}
	sess, err := snapshot.NewSession(info, req.AppHash, func(h int64) (snapshot.Restorer, error) {
		r, err := a.st.BeginRestore(h)
		if err != nil {
			return nil, err
		}
		return restorer{r}, nil
	})
	if err != nil {
		a.logf("state sync: snapshot of height %d refused: %v", sn.Height, err)
		return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_REJECT}, nil
	}
	s.restore = sess
	a.logf("state sync: restoring the snapshot of height %d (%d chunks)", sn.Height, sn.Chunks)
	return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_ACCEPT}, nil
}

// ApplySnapshotChunk restores the next chunk. A chunk that does not match the snapshot's
// chunk hashes is refetched and its sender rejected; a snapshot that does not restore to
// the trusted app hash is rejected as a whole.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	s := &a.snaps
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restore == nil {
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ABORT}, nil
	}
	v, err := s.restore.Apply(req.Index, req.Chunk)
	switch v {
	case snapshot.Accepted:
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
	case snapshot.Refetch:
		a.logf("state sync: %v; refetching it, rejecting sender %s", err, req.Sender)
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY,
			RefetchChunks: []uint32{req.Index}, RejectSenders: []string{req.Sender}}, nil
	case snapshot.Restored:
		s.restore = nil
		a.restored()
		c := a.st.LastCommit()
		a.logf("state sync: restored height %d, app hash %X, %d events", c.Height, c.AppHash, c.LogSize)
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
	default:
		a.logf("state sync: snapshot of height %d rejected: %v", s.restore.Info.Height, err)
		s.restore = nil
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT}, nil
	}
}

// restored reloads what the application derives from state when it starts.
func (a *App) restored() {
	b := loadBudgets(a.st.Committed())
	a.mu.Lock()
	a.budgets = b
	clear(a.pending)
	clear(a.pendingUse)
	a.mu.Unlock()
}

// restorer adapts the store's restore to the snapshot session.
type restorer struct{ r *state.Restore }

func (r restorer) Write(p []byte) error { return r.r.Write(p) }
func (r restorer) Abort() error         { return r.r.Abort() }
func (r restorer) Finish(trusted []byte) error {
	_, err := r.r.Finish(trusted)
	return err
}
