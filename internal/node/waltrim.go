package node

import (
	"fmt"
	"os"
	"reflect"

	"github.com/cometbft/cometbft/consensus"
	auto "github.com/cometbft/cometbft/libs/autofile"
)

// The consensus WAL holds the proposals and block parts of recent heights, so a write
// transaction, with an inline ciphertext, stays in it after pruning has removed its block
// and an erasure has shredded the record. Crash recovery needs only the WAL from the last
// committed height's #ENDHEIGHT marker on, but CometBFT rotates the WAL at 10 MB and keeps
// up to 1 GB of it, limits an embedder cannot set. So on a pruning node, each time the chain
// has grown by keep_blocks, the trimmer rotates the WAL and deletes every rotated file but
// the newest (which holds the markers of the heights since the previous rotation): a block's
// bytes leave the WAL about 2 × keep_blocks blocks after it was committed.
//
// CometBFT keeps the WAL private to its consensus state; walGroup reaches its file group by
// reflection, and TestWALTrimmerReachesTheGroup fails if a CometBFT upgrade moves it (the
// trimmer then logs once and does nothing).
type walTrimmer struct {
	n        *Node
	switched int64 // consensus height seen when the node first ran consensus (0: not yet)
	prev     int64 // block height at the previous rotation (0: none since start)
	broken   bool  // the group could not be reached: logged once
}

// consensusState is the reactor's consensus state, which CometBFT does not export.
func consensusState(r *consensus.Reactor) (*consensus.State, error) {
	cs := reflect.ValueOf(r).Elem().FieldByName("conS")
	if !cs.IsValid() || cs.Kind() != reflect.Pointer || cs.IsNil() {
		return nil, fmt.Errorf("the consensus reactor has no conS field")
	}
	return (*consensus.State)(cs.UnsafePointer()), nil
}

// walGroup is the consensus WAL's file group, or nil before the consensus state has opened
// its WAL (during block sync or state sync).
func walGroup(st *consensus.State) (*auto.Group, error) {
	w := reflect.ValueOf(st).Elem().FieldByName("wal")
	if !w.IsValid() || w.Kind() != reflect.Interface {
		return nil, fmt.Errorf("the consensus state has no wal field")
	}
	if w.IsNil() || w.Elem().Type() != reflect.TypeFor[*consensus.BaseWAL]() {
		return nil, nil // nilWAL: the consensus state has not started
	}
	return (*consensus.BaseWAL)(w.Elem().UnsafePointer()).Group(), nil
}

// trim rotates the WAL and removes the rotated files older than the newest.
func (t *walTrimmer) trim() {
	if t.broken || t.n.stopping.Load() {
		return
	}
	r := t.n.cmt.ConsensusReactor()
	if r.WaitSync() {
		return
	}
	// The consensus state writes its WAL field when it starts, on another goroutine. A
	// height the consensus state itself advanced (under its mutex, which GetRoundState
	// takes) orders that write before this read.
	st, err := consensusState(r)
	if err == nil {
		rs := st.GetRoundState()
		if t.switched == 0 || rs.Height <= t.switched {
			if t.switched == 0 {
				t.switched = rs.Height
			}
			return
		}
	}
	var g *auto.Group
	if err == nil {
		g, err = walGroup(st)
	}
	if err != nil {
		t.broken = true
		t.n.logf("consensus WAL trimming is off: %v", err)
		return
	}
	if g == nil || g.ReadGroupInfo().HeadSize == 0 {
		return
	}
	height := t.n.cmt.BlockStore().Height()
	g.RotateFile()
	info := g.ReadGroupInfo()
	removed := 0
	for i := info.MinIndex; i < info.MaxIndex-1; i++ {
		if err := os.Remove(fmt.Sprintf("%s.%03d", g.Head.Path, i)); err == nil {
			removed++
		} else if !os.IsNotExist(err) {
			t.n.logf("consensus WAL trimming: %v", err)
		}
	}
	if t.prev > 0 {
		// Every block part of a height below prev was written before the previous rotation,
		// into a file now removed.
		t.n.logf("consensus WAL trimmed: %d older files removed, no block below height %d left in it", removed, t.prev)
	}
	t.prev = height
}
