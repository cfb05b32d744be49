package state

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/cockroachdb/pebble/vfs/errorfs"
)

// copyDir copies the files of dir as they are on disk now: what a process killed now
// leaves behind (the kernel keeps what was written; nothing pebble holds in memory).
func copyDir(t *testing.T, dir, to string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		if d.Name() == "LOCK" {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(filepath.Join(to, rel))
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCrashComesBackAtTheDurableCommit: killed with commits above Durable, the store opens
// at the durable one, whole (Open checks the app hash), without any of the later commits'
// writes; executing the lost blocks again, as CometBFT's replay does, gives the same app
// hashes. The commits at or below Durable are never lost.
func TestCrashComesBackAtTheDurableCommit(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	defer s.Close()
	hashes := map[int64][]byte{}
	commit := func(s *Store, h int64) {
		t.Helper()
		writeBlock(s, h)
		c, err := s.Commit(h)
		if err != nil {
			t.Fatal(err)
		}
		if want, ok := hashes[h]; ok && !bytes.Equal(c.AppHash, want) {
			t.Fatalf("block %d executed again hashes to %X, first %X", h, c.AppHash, want)
		}
		hashes[h] = c.AppHash
	}
	for h := int64(1); h <= 3; h++ {
		commit(s, h)
	}
	if _, err := s.Checkpoint(filepath.Join(t.TempDir(), "ck")); err != nil { // flushes
		t.Fatal(err)
	}
	for h := int64(4); h <= 6; h++ {
		commit(s, h)
	}
	if d := s.Durable(); d != 3 {
		t.Fatalf("Durable() = %d after a checkpoint at height 3 and three commits after it, want 3", d)
	}
	crashed := filepath.Join(t.TempDir(), "crashed")
	copyDir(t, dir, crashed)

	r := openT(t, crashed)
	defer r.Close()
	if got := r.LastCommit(); got.Height != 3 || !bytes.Equal(got.AppHash, hashes[3]) {
		t.Fatalf("after the crash the store is at height %d (%X), want 3 (%X)", got.Height, got.AppHash, hashes[3])
	}
	if r.Durable() != 3 {
		t.Fatalf("reopened, Durable() = %d, want 3", r.Durable())
	}
	v := r.Committed()
	if v.GetIndex([]byte("idx/4")) != nil || v.Get([]byte("k/4")) != nil {
		t.Fatal("a write of block 4, above the durable height, survived without its commit")
	}
	if string(v.GetIndex([]byte("idx/3"))) != "\x03" || string(v.Get([]byte("last"))) != "3" {
		t.Fatal("a write of the durable block 3 was lost")
	}
	for h := int64(4); h <= 6; h++ {
		commit(r, h)
	}
}

// TestCloseKeepsEveryCommit: a clean stop flushes, so nothing is replayed after it.
func TestCloseKeepsEveryCommit(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	commitBlocks(t, s, 1, 4)
	if s.Durable() != 0 {
		t.Fatalf("Durable() = %d before any flush, want 0", s.Durable())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	defer s.Close()
	if c := s.LastCommit(); c.Height != 4 || s.Durable() != 4 {
		t.Fatalf("after a clean stop the store is at height %d, durable %d; want 4 and 4", c.Height, s.Durable())
	}
}

// TestDurableFollowsCommits: without any checkpoint or stop, the store flushes in the
// background every flushEvery blocks, so a crash never replays more than about that many.
func TestDurableFollowsCommits(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	for h := int64(1); h <= flushEvery; h++ {
		writeBlock(s, h)
		if _, err := s.Commit(h); err != nil {
			t.Fatal(err)
		}
		if h < flushEvery && s.Durable() != 0 {
			t.Fatalf("Durable() = %d at height %d, before flushEvery (%d) blocks", s.Durable(), h, flushEvery)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for s.Durable() != flushEvery {
		if time.Now().After(deadline) {
			t.Fatalf("Durable() = %d a minute after block %d", s.Durable(), flushEvery)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFailedFlushStopsCommits: once the disk refuses a flush, Flush reports it instead of
// waiting, Commit fails with the cause (the node halts) instead of stalling when the
// memtables fill, and Close does not wait for room. The next open comes back at the last
// flushed commit, from which CometBFT replays.
func TestFailedFlushStopsCommits(t *testing.T) {
	dir := t.TempDir()
	var full atomic.Bool
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op, path string) error {
		if full.Load() && op == errorfs.OpCreate && strings.HasSuffix(path, ".sst") {
			return fmt.Errorf("%w: no space left on device", errorfs.ErrInjected)
		}
		return nil
	}))
	s, err := open(dir, fs)
	if err != nil {
		t.Fatal(err)
	}
	commitBlocks(t, s, 1, 1)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	writeBlock(s, 2)
	if _, err := s.Commit(2); err != nil {
		t.Fatalf("a commit before any flush failed: %v", err)
	}
	if err := s.Flush(); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("a flush the disk refused returned %v", err)
	}
	writeBlock(s, 3)
	if _, err := s.Commit(3); err == nil || !strings.Contains(err.Error(), "cannot write its files") {
		t.Fatalf("a commit after a failed flush returned %v", err)
	}
	if err := s.Close(); err == nil {
		t.Fatal("closing a store whose flush failed reported nothing")
	}
	r := openT(t, dir)
	defer r.Close()
	if c := r.LastCommit(); c.Height != 1 {
		t.Fatalf("reopened after the failed flush at height %d, want the flushed 1", c.Height)
	}
}
