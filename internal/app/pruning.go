package app

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/state"
)

// Pruning is how much history this node keeps. It is node-local: it changes what a node can
// serve and re-check, never the state or the app hash.
type Pruning struct {
	// KeepBlocks is how many of the newest blocks CometBFT keeps at least (0: every block).
	// Older blocks go only once a completed snapshot covers them.
	KeepBlocks int64
	// KeepVersions is how many of the newest state map versions the store keeps (0: every
	// version).
	KeepVersions int64
}

// MinKeepVersions is the fewest state map versions a node may keep: API reads and CheckTx
// run on the view of a recent commit while blocks go on committing, and a view whose
// version was deleted under it would read keys as absent.
const MinKeepVersions = 20

// Check refuses settings the node cannot honour.
func (p Pruning) Check(snapshotsOn bool) error {
	if p.KeepBlocks < 0 || p.KeepVersions < 0 {
		return fmt.Errorf("pruning: keep_blocks %d and keep_versions %d must not be negative (0 keeps everything)", p.KeepBlocks, p.KeepVersions)
	}
	if p.KeepBlocks > 0 && !snapshotsOn {
		return fmt.Errorf("pruning: keep_blocks %d needs snapshots (snapshot_interval > 0): blocks are pruned only below a snapshot a new node can start from", p.KeepBlocks)
	}
	if p.KeepVersions > 0 && p.KeepVersions < MinKeepVersions {
		return fmt.Errorf("pruning: keep_versions %d is below %d: reads in flight use recent versions", p.KeepVersions, MinKeepVersions)
	}
	return nil
}

// SetPruning makes the application ask CometBFT to prune blocks and prune its own state map
// versions as p says; p must have passed Check.
func (a *App) SetPruning(p Pruning) { a.pruning = p }

// RetainHeight is the lowest block a node at head keeps: the blocks below it may go. They
// go only once the newest completed snapshot (at snapshotHeight, 0: none) covers them, so a
// node that needs them can start from that snapshot instead, never while fewer than
// keepBlocks blocks would remain, and never above the state's durable height, since a
// crash would have CometBFT replay the blocks after it (state.Store.Durable). 0 means keep
// everything.
func RetainHeight(head, keepBlocks int64, snapshotHeight uint64, durable int64) int64 {
	if keepBlocks <= 0 || snapshotHeight == 0 {
		return 0
	}
	retain := min(head-keepBlocks+1, int64(snapshotHeight), durable)
	if retain <= 1 {
		return 0
	}
	return retain
}

// prune deletes state map versions beyond the ones kept and returns the retain height for
// CometBFT. It runs right after the store's commit point; a failure to delete is logged and
// retried by the next commit, since the committed state does not depend on it.
func (a *App) prune(c state.Commit) int64 {
	p := a.pruning
	if p.KeepVersions > 0 && c.Height > p.KeepVersions {
		if err := a.st.PruneVersionsTo(c.Height - p.KeepVersions); err != nil {
			a.logf("pruning state map versions: %v", err)
		}
	}
	return RetainHeight(c.Height, p.KeepBlocks, a.snaps.newest.Load(), a.st.Durable())
}
