package node

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/state"
)

// PruningConfig is how much history the node keeps, in config/ehrchain.json under
// "pruning". The zero value keeps everything: pruning is off unless asked for.
type PruningConfig struct {
	// KeepBlocks is how many of the newest blocks are kept at least; older ones are deleted
	// once a completed snapshot covers them (0: keep every block).
	KeepBlocks int64 `json:"keep_blocks"`
	// KeepVersions is how many of the newest state map versions are kept (0: every one).
	KeepVersions int64 `json:"keep_versions"`
}

// setPruning hands the configured pruning to the application; it runs after
// serveSnapshots, since pruning blocks needs snapshots.
func (n *Node) setPruning() error {
	c := n.Config.Pruning
	if c == nil {
		return nil
	}
	p := app.Pruning{KeepBlocks: c.KeepBlocks, KeepVersions: c.KeepVersions}
	if err := p.Check(n.Config.SnapshotInterval > 0); err != nil {
		return fmt.Errorf("%s: %w", n.Paths.Config(), err)
	}
	n.App.SetPruning(p)
	if p.KeepBlocks > 0 || p.KeepVersions > 0 {
		n.logf("pruning on: keeping the last %d blocks (below the newest snapshot) and %d state map versions (0: all)", p.KeepBlocks, p.KeepVersions)
	}
	return nil
}

// BlockBase is the lowest block height the node still stores (1 until pruning removes
// blocks; the snapshot's height on a state-synced node).
func (n *Node) BlockBase() int64 { return n.cmt.BlockStore().Base() }

// StateCompacting reports whether the state database is flushing or compacting now.
func (n *Node) StateCompacting() bool { return n.st.Compacting() }

// StateWriteAmp is the state database's write amplification so far (state.Store.WriteAmp).
func (n *Node) StateWriteAmp() float64 { return n.st.WriteAmp() }

// StateCompactions counts the state database's compactions so far.
func (n *Node) StateCompactions() state.Compactions { return n.st.Compactions() }

// FlushState writes every commit into the state database's files (state.Store.Flush).
func (n *Node) FlushState() error { return n.st.Flush() }
