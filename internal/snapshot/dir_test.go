package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"

	"github.com/ehrchain/ehrchain/internal/state"
)

// grow commits heights from..to of map keys, events and index entries, some entries ~3 KB.
func grow(t *testing.T, st *state.Store, from, to int64) {
	t.Helper()
	for h := from; h <= to; h++ {
		for i := range 150 {
			k := fmt.Sprintf("key/%d/%04d", h, i)
			st.Set([]byte(k), []byte(strings.Repeat("v", i%50+1)))
			st.Append([]byte(`{"event":"` + k + `"}`))
			st.PutIndex([]byte("ix/"+k), bytes.Repeat([]byte(k), 1+i%200))
		}
		if _, err := st.Commit(h); err != nil {
			t.Fatal(err)
		}
	}
}

func streamOf(t *testing.T, st *state.Store) []byte {
	t.Helper()
	ck := filepath.Join(t.TempDir(), "checkpoint")
	if _, err := st.Checkpoint(ck); err != nil {
		t.Fatal(err)
	}
	ex, err := state.OpenCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	var b bytes.Buffer
	if _, err := ex.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// written opens a snapshot directory at path, cutting chunks of size stream bytes, and
// writes the snapshot of st's last commit into it; the directory closes when the test ends.
func written(t *testing.T, st *state.Store, path string, size int) (*Dir, Info) {
	t.Helper()
	d, err := Open(path, 2, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	p, err := d.Freeze(st, uint64(st.LastCommit().Height))
	if err != nil {
		t.Fatal(err)
	}
	info, err := p.Write()
	if err != nil {
		t.Fatal(err)
	}
	return d, info
}

func decoded(t *testing.T, cs [][]byte) []byte {
	t.Helper()
	var out []byte
	for i, c := range cs {
		b, err := snappy.Decode(nil, c)
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		out = append(out, b...)
	}
	return out
}

// TestChunksCutFromTheCheckpointAreTheStream: for chunk sizes that end inside the state
// map's bytes, inside items and on item boundaries, the chunks cut on demand from a
// snapshot's checkpoint are the stream of its height, byte for byte, while the live
// database goes on committing and compacting, and again after the directory is reopened.
func TestChunksCutFromTheCheckpointAreTheStream(t *testing.T) {
	live := t.TempDir()
	st, err := state.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	grow(t, st, 1, 3)
	want := streamOf(t, st)
	for _, size := range []int{97, 4 << 10, 64 << 10, len(want), 2 * len(want)} {
		d, info := written(t, st, filepath.Join(t.TempDir(), "snapshots"), size)
		if wantChunks := (len(want) + size - 1) / size; int(info.Chunks) != wantChunks {
			t.Fatalf("size %d: %d chunks, want %d", size, info.Chunks, wantChunks)
		}
		if got := decoded(t, chunksOf(t, d, info)); !bytes.Equal(got, want) {
			t.Fatalf("size %d: the chunks carry %d bytes that are not the %d-byte stream", size, len(got), len(want))
		}
		d.Close()
	}

	// The live database moves on and compacts away the tables the checkpoint was made of.
	path := filepath.Join(t.TempDir(), "snapshots")
	d, info := written(t, st, path, 4<<10)
	grow(t, st, 4, 6)
	if err := st.Compact(); err != nil {
		t.Fatal(err)
	}
	// Pebble deletes the files a compaction made obsolete in the background.
	for deadline := time.Now().Add(time.Minute); unsharedTables(t, filepath.Join(d.dirOf(3), "state.db"), filepath.Join(live, "state.db")) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("every checkpoint table is still the live database's: the test shows nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := decoded(t, chunksOf(t, d, info)); !bytes.Equal(got, want) {
		t.Fatal("after the live database compacted, the chunks are not the stream of height 3")
	}
	d.Close()
	d, err = Open(path, 2, 4<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if l, err := d.List(); err != nil || len(l) != 1 || l[0].Height != 3 || !bytes.Equal(l[0].Hash, info.Hash) {
		t.Fatalf("reopened, the directory lists %v (%v), want height 3", l, err)
	}
	if got := decoded(t, chunksOf(t, d, info)); !bytes.Equal(got, want) {
		t.Fatal("reopened, the chunks are not the stream of height 3")
	}
}

// unsharedTables counts the table files in dir that are not also files of the database in
// live (hard links to one file). Other checkpoints of the test may still link to them.
func unsharedTables(t *testing.T, dir, live string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	liveEnts, err := os.ReadDir(live)
	if err != nil {
		t.Fatal(err)
	}
	var liveFiles []os.FileInfo
	for _, e := range liveEnts {
		if fi, err := os.Stat(filepath.Join(live, e.Name())); err == nil {
			liveFiles = append(liveFiles, fi)
		}
	}
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".sst") {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(liveFiles, func(l os.FileInfo) bool { return os.SameFile(l, fi) }) {
			n++
		}
	}
	return n
}

// TestChunkThatDoesNotHashIsNotServed: a chunk cut from a snapshot whose notes were altered
// (a start moved by one byte) does not hash to the offered metadata, and the node serves an
// error instead of it.
func TestChunkThatDoesNotHashIsNotServed(t *testing.T) {
	d, info, _ := source(t, 4<<10)
	d.Close()
	path := filepath.Join(d.dirOf(info.Height), "snapshot.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s stored
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	i := len(s.Starts) - 2
	if i < 1 || s.Starts[i].Pos == nil {
		t.Fatalf("chunk %d starts in the head; the test wants one cut from the checkpoint", i)
	}
	s.Starts[i].Skip++
	b, _ = json.Marshal(s)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d2, err := Open(d.path, 2, 4<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if c, err := d2.Chunk(info.Height, info.Format, uint32(i)); err == nil || !strings.Contains(err.Error(), "does not hash") {
		t.Fatalf("a chunk cut from altered notes: %d bytes, %v; want a hash error", len(c), err)
	}
	if _, err := d2.Chunk(info.Height, info.Format, uint32(i-1)); err != nil {
		t.Fatalf("an unaltered chunk of the same snapshot: %v", err)
	}
}

// TestOpenDropsChunkFileSnapshots: a snapshot an earlier version wrote as chunk files (no
// checkpoint) and a partial one are removed when the directory opens; a complete one stays.
func TestOpenDropsChunkFileSnapshots(t *testing.T) {
	d, info, _ := source(t, 4<<10)
	d.Close()
	old := filepath.Join(d.path, "1")
	if err := os.MkdirAll(old, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(old, "chunk-000000"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(old, "snapshot.json"), []byte(`{"height":1,"format":2,"chunks":1}`), 0o600)
	partial := filepath.Join(d.path, ".tmp-5")
	os.MkdirAll(filepath.Join(partial, "state.db"), 0o700)
	d2, err := Open(d.path, 2, 4<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	for _, p := range []string{old, partial} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s is still there (%v)", p, err)
		}
	}
	if l, _ := d2.List(); len(l) != 1 || l[0].Height != info.Height {
		t.Fatalf("listed %v, want only height %d", l, info.Height)
	}
}
