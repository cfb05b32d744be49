package snapshot

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang/snappy"

	"github.com/ehrchain/ehrchain/internal/state"
)

// source commits a small state (map keys, events, index entries) over two heights and
// writes the snapshot of height 2 in chunks of chunkSize stream bytes.
func source(t *testing.T, chunkSize int) (*Dir, Info, []byte) {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for h := int64(1); h <= 2; h++ {
		for i := range 200 {
			k := fmt.Sprintf("key/%d/%04d", h, i)
			st.Set([]byte(k), []byte(strings.Repeat("v", i%50+1)))
			st.Append([]byte(`{"event":"` + k + `"}`))
			st.PutIndex([]byte("ix/"+k), []byte(k))
		}
		if _, err := st.Commit(h); err != nil {
			t.Fatal(err)
		}
	}
	d, info := written(t, st, filepath.Join(t.TempDir(), "snapshots"), chunkSize)
	return d, info, st.LastCommit().AppHash
}

func chunksOf(t *testing.T, d *Dir, info Info) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range info.Chunks {
		c, err := d.Chunk(info.Height, info.Format, i)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func session(t *testing.T, info Info, trusted []byte) (*Session, *state.Store) {
	t.Helper()
	return sessionIn(t, t.TempDir(), info, trusted)
}

func sessionIn(t *testing.T, dir string, info Info, trusted []byte) (*Session, *state.Store) {
	t.Helper()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := NewSession(info, trusted, func(h int64) (Restorer, error) {
		r, err := st.BeginRestore(h)
		return restorer{r}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

type restorer struct{ r *state.Restore }

func (r restorer) Write(p []byte) error { return r.r.Write(p) }
func (r restorer) Abort() error         { return r.r.Abort() }
func (r restorer) Finish(trusted []byte) error {
	_, err := r.r.Finish(trusted)
	return err
}

// TestRestoreCompressedChunks: chunks are stored compressed (smaller than the stream bytes
// they carry) and a new store restored from them reaches the source's app hash and index,
// and still holds them when reopened.
func TestRestoreCompressedChunks(t *testing.T) {
	d, info, appHash := source(t, 4<<10)
	cs := chunksOf(t, d, info)
	if len(cs) < 3 {
		t.Fatalf("%d chunks; the test wants several", len(cs))
	}
	for i, c := range cs[:len(cs)-1] {
		if n, err := snappy.DecodedLen(c); err != nil || n != 4<<10 || len(c) >= n {
			t.Fatalf("chunk %d: %d bytes decoding to %d (%v), want a compressed 4 KiB", i, len(c), n, err)
		}
	}
	dir := t.TempDir()
	s, st := sessionIn(t, dir, info, appHash)
	for i, c := range cs {
		v, err := s.Apply(uint32(i), c)
		if want := map[bool]Verdict{false: Accepted, true: Restored}[i == len(cs)-1]; v != want || err != nil {
			t.Fatalf("chunk %d: %v %v, want %v", i, v, err, want)
		}
	}
	if c := st.LastCommit(); c.Height != 2 || !bytes.Equal(c.AppHash, appHash) {
		t.Fatalf("restored height %d app hash %X, want 2 %X", c.Height, c.AppHash, appHash)
	}
	if got := st.GetIndex([]byte("ix/key/1/0007")); string(got) != "key/1/0007" {
		t.Fatalf("index entry after the restore: %q", got)
	}
	st.Close()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if c := st.LastCommit(); c.Height != 2 || !bytes.Equal(c.AppHash, appHash) {
		t.Fatalf("reopened at height %d app hash %X", c.Height, c.AppHash)
	}
	if got := st.GetIndex([]byte("ix/key/2/0199")); string(got) != "key/2/0199" {
		t.Fatalf("index entry after reopening: %q", got)
	}
}

// TestRestoreRefusesBadChunks: a chunk that hashes right but does not decompress, or
// decompresses past MaxChunkSize (a snapshot whose metadata was made for it), rejects the
// snapshot and leaves the store empty; one altered in flight is only refetched.
func TestRestoreRefusesBadChunks(t *testing.T) {
	d, info, appHash := source(t, 4<<10)
	cs := chunksOf(t, d, info)

	s, _ := session(t, info, appHash)
	bad := bytes.Clone(cs[0])
	bad[len(bad)/2] ^= 1
	if v, err := s.Apply(0, bad); v != Refetch || err == nil {
		t.Fatalf("an altered chunk: %v %v, want Refetch", v, err)
	}
	if v, err := s.Apply(0, cs[0]); v != Accepted {
		t.Fatalf("the chunk fetched again: %v %v", v, err)
	}

	for name, chunk := range map[string][]byte{
		"not snappy": []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff this is not a snappy block"),
		"too large":  snappy.Encode(nil, make([]byte, MaxChunkSize+1)),
	} {
		// Metadata listing the hostile chunk's own hash: it passes the hash check.
		forged := append([][32]byte{}, hashesOf(cs)...)
		forged[0] = sum(chunk)
		meta := EncodeMetadata(forged)
		h := sum(meta)
		fi := Info{Height: info.Height, Format: Format, Chunks: info.Chunks, Hash: h[:], Metadata: meta}
		s, st := session(t, fi, appHash)
		v, err := s.Apply(0, chunk)
		if v != Rejected || err == nil || !strings.Contains(err.Error(), "chunk 0") {
			t.Fatalf("%s: %v %v, want Rejected", name, v, err)
		}
		if c := st.LastCommit(); c.Height != 0 {
			t.Fatalf("%s: a rejected snapshot left height %d behind", name, c.Height)
		}
	}
}

func hashesOf(cs [][]byte) [][32]byte {
	out := make([][32]byte, len(cs))
	for i, c := range cs {
		out[i] = sum(c)
	}
	return out
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }
