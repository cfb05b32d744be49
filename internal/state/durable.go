package state

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
)

// The state database runs without pebble's write-ahead log. Every block is already on disk
// in CometBFT's block store before the application executes it, so a second log of the same
// bytes (a record write's ~3 KB ciphertext) only doubled what each write costs the disk.
// Without the log, a crash loses the commits made since the last memtable flush, and pebble
// reopens at a prefix of its commits: the state of some earlier block, whole. The node then
// reports that height, and CometBFT replays the blocks after it (its handshake), as it does
// for the one block a crash could always lose.
//
// Replay needs those blocks: Durable says how far the state is known to be on disk, and the
// application never lets CometBFT prune a block above it. The store flushes in the
// background every flushEvery blocks (pebble also flushes whenever a memtable fills), and
// synchronously wherever a copy of the files or a step of a restore must hold everything
// committed: Checkpoint, CheckpointInto, restores and Close.
//
// A flush that fails (a full or failing disk) leaves the commits since the last one only in
// memory, and pebble retries it without end while writes stall once the memtables are
// full. So the first failed flush makes every later Commit fail, which halts the node with
// the cause, instead of letting it hang; a restart replays what was lost.

// flushEvery bounds the blocks a crash can make a node replay when few writes arrive (a busy
// node fills a memtable, and pebble flushes it, sooner).
const flushEvery = 100

// durability is the store's record of what is on disk.
type durability struct {
	height   atomic.Int64 // the newest commit known flushed
	flushing atomic.Bool  // a background flush is under way

	failOnce sync.Once
	failed   chan struct{} // closed by the first failed flush
	err      atomic.Pointer[error]
}

// emptyFlush is how pebble reports a flush that succeeded without writing a table
// (everything in it had been deleted); its error value is unexported.
const emptyFlush = "pebble: empty table"

// listener reports failed flushes to d.
func (d *durability) listener() *pebble.EventListener {
	return &pebble.EventListener{FlushEnd: func(i pebble.FlushInfo) {
		if i.Err != nil && i.Err.Error() != emptyFlush {
			d.failOnce.Do(func() {
				d.err.Store(&i.Err)
				close(d.failed)
			})
		}
	}}
}

// failure is why the database cannot write its files, nil while it can.
func (d *durability) failure() error {
	if p := d.err.Load(); p != nil {
		return fmt.Errorf("the state database cannot write its files (%w): its commits since the last flush are only in memory and in CometBFT's blocks", *p)
	}
	return nil
}

// Durable is the height of the newest commit known to be in the database files, so that a
// crash cannot lose it. Commits above it are durable in CometBFT's blocks, from which the
// handshake replays them.
func (s *Store) Durable() int64 { return s.durable.height.Load() }

// markDurable records that commits up to h are on disk.
func (s *Store) markDurable(h int64) {
	for {
		d := s.durable.height.Load()
		if h <= d || s.durable.height.CompareAndSwap(d, h) {
			return
		}
	}
}

// startFlush starts writing the memtable to the database files; wait returns once every
// commit made before the call survives a crash, or the flush failed. A caller that holds
// s.mu passes the height committed.
func (s *Store) startFlush(committed int64) (wait func() error, err error) {
	done, err := s.raw.AsyncFlush()
	if err != nil {
		return nil, fmt.Errorf("flush the state database: %w", err)
	}
	return func() error {
		select {
		case <-done:
			s.markDurable(committed)
			return nil
		case <-s.durable.failed: // Commit fails from now on
			return s.durable.failure()
		}
	}, nil
}

// flush writes the memtable to the database files and waits (startFlush).
func (s *Store) flush(committed int64) error {
	wait, err := s.startFlush(committed)
	if err != nil {
		return err
	}
	return wait()
}

// Flush writes every commit made so far into the database files, so that its files alone
// hold the last commit: benchmarks call it before they measure the disk.
func (s *Store) Flush() error { return s.flush(s.LastCommit().Height) }

// flushBehind starts a background flush once the commits since the last known flush reach
// flushEvery blocks; Commit calls it with the height it just committed. A flush that cannot
// start is retried at the next commit.
func (s *Store) flushBehind(h int64) {
	if h-s.Durable() < flushEvery || !s.durable.flushing.CompareAndSwap(false, true) {
		return
	}
	wait, err := s.startFlush(h)
	if err != nil {
		s.durable.flushing.Store(false)
		return
	}
	go func() {
		wait() // a failure makes the next Commit fail
		s.durable.flushing.Store(false)
	}()
}
