// Package snapshot keeps a node's state-sync snapshots on disk and checks the chunks a
// joining node receives.
//
// A snapshot is the state stream of one committed height (state.Export) cut into pieces of a
// fixed size, each compressed on its own (Snappy's block format) into one chunk: event JSON,
// tx results and signed read requests shrink by about 40 %, ciphertext not at all, and
// decoding costs far less than moving the bytes. Its metadata lists every chunk's SHA-256
// (of the compressed bytes, as they travel) and its hash is the SHA-256 of the metadata, so
// nodes at the same height, which write the same stream, offer the same snapshot and serve
// interchangeable chunks; a chunk changed in flight no longer matches the metadata and is
// fetched again from another peer. Whether the snapshot as a whole is the chain's state is
// decided after the last chunk, by the app hash the light client verified.
//
// Snapshots are node-local files under HOME/app/snapshots, written in the background and
// never part of consensus.
package snapshot

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/golang/snappy"
)

// Format is the snapshot format this node writes and restores: 2, Snappy-compressed chunks
// (format 1 chunks were the stream's bytes as they are).
const Format = 2

// DefaultChunkSize is the stream bytes in every chunk but the last, before compression:
// well under CometBFT's 16 MB chunk message, large enough that 10^5 records take a hundred
// or so chunks.
const DefaultChunkSize = 4 << 20

// MaxChunkSize bounds the stream bytes one chunk may decode to, so a chunk that hashes right
// (its snapshot's metadata lies) cannot make a joining node allocate without limit.
const MaxChunkSize = 16 << 20

// Info describes one snapshot, as CometBFT's ListSnapshots carries it.
type Info struct {
	Height   uint64 `json:"height"`
	Format   uint32 `json:"format"`
	Chunks   uint32 `json:"chunks"`
	Hash     []byte `json:"hash"`
	Metadata []byte `json:"metadata"`
}

// Dir is the snapshot directory of one node.
type Dir struct {
	path      string
	keep      int
	chunkSize int

	mu sync.Mutex // serializes creation and pruning against listing and loading
}

// Open opens (creating it) the snapshot directory at path; it keeps the newest keep
// snapshots. Partial snapshots a stopped node left behind are removed.
func Open(path string, keep, chunkSize int) (*Dir, error) {
	if keep < 1 {
		return nil, fmt.Errorf("snapshot_keep %d: keep at least one snapshot", keep)
	}
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	if chunkSize > MaxChunkSize {
		return nil, fmt.Errorf("snapshot chunk size %d exceeds %d", chunkSize, MaxChunkSize)
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			os.RemoveAll(filepath.Join(path, e.Name()))
		}
	}
	return &Dir{path: path, keep: keep, chunkSize: chunkSize}, nil
}

func (d *Dir) dirOf(height uint64) string {
	return filepath.Join(d.path, strconv.FormatUint(height, 10))
}

func chunkName(i uint32) string { return fmt.Sprintf("chunk-%06d", i) }

// Create writes the snapshot of height whose stream write produces, then prunes old ones.
// It is slow (the whole state) and meant for a background goroutine.
func (d *Dir) Create(height uint64, write func(io.Writer) error) (Info, error) {
	tmp := filepath.Join(d.path, fmt.Sprintf(".tmp-%d", height))
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return Info{}, err
	}
	cw := &chunkWriter{dir: tmp, size: d.chunkSize}
	err := write(cw)
	if err == nil {
		err = cw.close()
	}
	if err != nil {
		os.RemoveAll(tmp)
		return Info{}, err
	}
	meta := EncodeMetadata(cw.hashes)
	h := sha256.Sum256(meta)
	info := Info{Height: height, Format: Format, Chunks: uint32(len(cw.hashes)), Hash: h[:], Metadata: meta}
	b, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(tmp, "snapshot.json"), b, 0o600); err != nil {
		os.RemoveAll(tmp)
		return Info{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	final := d.dirOf(height)
	os.RemoveAll(final)
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return Info{}, err
	}
	d.pruneLocked()
	return info, nil
}

func (d *Dir) heightsLocked() []uint64 {
	ents, _ := os.ReadDir(d.path)
	var hs []uint64
	for _, e := range ents {
		if h, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.IsDir() {
			hs = append(hs, h)
		}
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i] > hs[j] })
	return hs
}

func (d *Dir) pruneLocked() {
	for i, h := range d.heightsLocked() {
		if i >= d.keep {
			os.RemoveAll(d.dirOf(h))
		}
	}
}

// List returns the complete snapshots, newest first.
func (d *Dir) List() ([]Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Info
	for _, h := range d.heightsLocked() {
		b, err := os.ReadFile(filepath.Join(d.dirOf(h), "snapshot.json"))
		if err != nil {
			continue
		}
		var info Info
		if json.Unmarshal(b, &info) != nil || info.Height != h {
			continue
		}
		out = append(out, info)
	}
	return out, nil
}

// ErrNoChunk is a chunk this node does not hold (pruned, or never written).
var ErrNoChunk = errors.New("no such snapshot chunk")

// Chunk reads chunk index of the snapshot of height in format.
func (d *Dir) Chunk(height uint64, format, index uint32) ([]byte, error) {
	if format != Format {
		return nil, ErrNoChunk
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := os.ReadFile(filepath.Join(d.dirOf(height), chunkName(index)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoChunk
	}
	return b, err
}

// chunkWriter cuts a stream into pieces of size bytes and writes each compressed as a chunk
// file, hashing what it writes.
type chunkWriter struct {
	dir    string
	size   int
	buf    []byte
	enc    []byte // the compressed chunk, reused
	hashes [][32]byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(w.size-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == w.size {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	i := uint32(len(w.hashes))
	w.enc = snappy.Encode(w.enc[:cap(w.enc)], w.buf)
	if err := os.WriteFile(filepath.Join(w.dir, chunkName(i)), w.enc, 0o600); err != nil {
		return err
	}
	w.hashes = append(w.hashes, sha256.Sum256(w.enc))
	w.buf = w.buf[:0]
	return nil
}

func (w *chunkWriter) close() error {
	if len(w.buf) > 0 || len(w.hashes) == 0 {
		return w.flush()
	}
	return nil
}
