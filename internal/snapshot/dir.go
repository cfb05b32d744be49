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
// On disk a snapshot is not a copy of the state: it is a checkpoint of the state database
// (pebble hard-links its immutable tables, so it costs only the tables the live database has
// rewritten since) and, found when the snapshot is written, the chunks' hashes and the
// stream position each chunk starts at. A chunk is cut from the checkpoint when a peer asks
// for it. Only the state map's part of the stream, which is small and cannot be resumed
// midway, is kept as bytes ("head").
//
// Snapshots are node-local files under HOME/app/snapshots, written in the background and
// never part of consensus.
package snapshot

import (
	"bufio"
	"bytes"
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

	"github.com/ehrchain/ehrchain/internal/state"
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

// stored is a snapshot's snapshot.json: what is offered, and where each chunk starts.
type stored struct {
	Info
	ChunkSize int     `json:"chunk_size"`
	Head      int64   `json:"head"` // stream bytes before the first resumable item (file "head")
	Tail      []byte  `json:"tail"` // that item's position
	Starts    []start `json:"starts"`
}

// start is where in the stream one chunk begins.
type start struct {
	Pos  []byte `json:"pos,omitempty"`  // the item it begins in; nil: in the head
	Skip int64  `json:"skip,omitempty"` // bytes of that item before the chunk
}

// ErrClosed is a snapshot stopped because its directory closed.
var ErrClosed = errors.New("the snapshot directory is closed")

// Dir is the snapshot directory of one node.
type Dir struct {
	path      string
	keep      int
	chunkSize int

	mu      sync.Mutex         // serializes creation and pruning against listing and loading
	open    map[uint64]*served // snapshots opened to cut chunks from
	closed  bool
	done    chan struct{}  // closed by Close: snapshots being written stop
	writing sync.WaitGroup // snapshots being written
}

// Open opens (creating it) the snapshot directory at path; it keeps the newest keep
// snapshots. Partial snapshots a stopped node left behind are removed, and so are those an
// earlier version wrote as chunk files.
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
		p := filepath.Join(path, e.Name())
		if _, err := os.Stat(filepath.Join(p, "state.db")); strings.HasPrefix(e.Name(), ".tmp-") || err != nil {
			os.RemoveAll(p)
		}
	}
	return &Dir{path: path, keep: keep, chunkSize: chunkSize, open: map[uint64]*served{}, done: make(chan struct{})}, nil
}

// Close stops the snapshots being written (they are removed) and releases the checkpoints
// opened to serve chunks. Closing twice is harmless.
func (d *Dir) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	close(d.done)
	for h, sv := range d.open {
		sv.ex.Close()
		delete(d.open, h)
	}
	d.mu.Unlock()
	d.writing.Wait()
}

func (d *Dir) dirOf(height uint64) string {
	return filepath.Join(d.path, strconv.FormatUint(height, 10))
}

// Pending is a snapshot whose checkpoint is taken and whose chunks are not yet hashed.
type Pending struct {
	d      *Dir
	height uint64
	tmp    string
}

// Freeze checkpoints st's last commit, which must be height, as a new snapshot. Call it
// where no commit can run (right after Commit, on the consensus goroutine); it costs a
// flush of the memtable (at most 64 MB), after which pebble hard-links the tables. Then call
// Write.
func (d *Dir) Freeze(st *state.Store, height uint64) (*Pending, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	tmp := filepath.Join(d.path, fmt.Sprintf(".tmp-%d", height))
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	c, err := st.Checkpoint(filepath.Join(tmp, "state.db"))
	if err == nil && uint64(c.Height) != height {
		err = fmt.Errorf("snapshot of height %d: the state holds height %d", height, c.Height)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	d.writing.Add(1)
	return &Pending{d: d, height: height, tmp: tmp}, nil
}

// Write reads the whole checkpoint once to hash its chunks and note where each begins, then
// offers the snapshot and prunes old ones. It is slow (the whole state) and meant for a
// background goroutine; a Close meanwhile stops it with ErrClosed.
func (p *Pending) Write() (Info, error) {
	d := p.d
	defer d.writing.Done()
	info, err := p.write()
	if err != nil {
		os.RemoveAll(p.tmp)
	}
	return info, err
}

func (p *Pending) write() (Info, error) {
	d := p.d
	ex, err := state.OpenCheckpoint(filepath.Join(p.tmp, "state.db"))
	if err != nil {
		return Info{}, err
	}
	head, err := os.Create(filepath.Join(p.tmp, "head"))
	if err != nil {
		ex.Close()
		return Info{}, err
	}
	hw := bufio.NewWriterSize(head, 1<<20) // the state map comes an item at a time
	h := &hasher{size: d.chunkSize, head: hw, done: d.done}
	err = ex.WriteFrom(h, nil)
	ex.Close()
	if err == nil {
		err = h.close()
	}
	if err == nil {
		err = hw.Flush()
	}
	if e := head.Close(); err == nil {
		err = e
	}
	if err != nil {
		return Info{}, err
	}
	meta := EncodeMetadata(h.hashes)
	sum := sha256.Sum256(meta)
	s := stored{Info: Info{Height: p.height, Format: Format, Chunks: uint32(len(h.hashes)), Hash: sum[:], Metadata: meta},
		ChunkSize: d.chunkSize, Head: h.headLen, Tail: h.tail, Starts: h.starts}
	b, _ := json.Marshal(s)
	if err := os.WriteFile(filepath.Join(p.tmp, "snapshot.json"), b, 0o600); err != nil {
		return Info{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return Info{}, ErrClosed
	}
	final := d.dirOf(p.height)
	d.dropLocked(p.height)
	if err := os.Rename(p.tmp, final); err != nil {
		return Info{}, err
	}
	d.pruneLocked()
	return s.Info, nil
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

// dropLocked removes the snapshot of height, closing its checkpoint first.
func (d *Dir) dropLocked(height uint64) {
	if sv := d.open[height]; sv != nil {
		sv.ex.Close()
		delete(d.open, height)
	}
	os.RemoveAll(d.dirOf(height))
}

func (d *Dir) pruneLocked() {
	for i, h := range d.heightsLocked() {
		if i >= d.keep {
			d.dropLocked(h)
		}
	}
}

func (d *Dir) readStored(height uint64) (stored, error) {
	var s stored
	b, err := os.ReadFile(filepath.Join(d.dirOf(height), "snapshot.json"))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Height != height || len(s.Starts) != int(s.Chunks) || s.ChunkSize <= 0 {
		return s, fmt.Errorf("snapshot %d: snapshot.json is corrupt", height)
	}
	return s, nil
}

// List returns the complete snapshots, newest first.
func (d *Dir) List() ([]Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Info
	for _, h := range d.heightsLocked() {
		if s, err := d.readStored(h); err == nil {
			out = append(out, s.Info)
		}
	}
	return out, nil
}

// ErrNoChunk is a chunk this node does not hold (pruned, or never written).
var ErrNoChunk = errors.New("no such snapshot chunk")

// served is a snapshot opened to cut chunks from.
type served struct {
	ex     *state.Export
	s      stored
	hashes [][32]byte
}

// Chunk cuts chunk index of the snapshot of height in format from its checkpoint, and checks
// it against the hash the snapshot offers.
func (d *Dir) Chunk(height uint64, format, index uint32) ([]byte, error) {
	if format != Format {
		return nil, ErrNoChunk
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrNoChunk
	}
	sv, err := d.servedLocked(height)
	if errors.Is(err, os.ErrNotExist) || err == nil && index >= sv.s.Chunks {
		return nil, ErrNoChunk
	}
	if err != nil {
		return nil, err
	}
	raw, err := d.cut(sv.ex, sv.s, index)
	if err != nil {
		return nil, fmt.Errorf("snapshot %d chunk %d: %w", height, index, err)
	}
	enc := snappy.Encode(nil, raw)
	if sha256.Sum256(enc) != sv.hashes[index] {
		return nil, fmt.Errorf("snapshot %d chunk %d: cut from the checkpoint, it does not hash as when the snapshot was written", height, index)
	}
	return enc, nil
}

// servedLocked opens the snapshot of height for serving, once.
func (d *Dir) servedLocked(height uint64) (*served, error) {
	if sv := d.open[height]; sv != nil {
		return sv, nil
	}
	s, err := d.readStored(height)
	if err != nil {
		return nil, err
	}
	hashes, err := ChunkHashes(s.Info)
	if err != nil {
		return nil, err
	}
	ex, err := state.OpenCheckpoint(filepath.Join(d.dirOf(height), "state.db"))
	if err != nil {
		return nil, err
	}
	sv := &served{ex: ex, s: s, hashes: hashes}
	d.open[height] = sv
	return sv, nil
}

// cut produces the stream bytes of one chunk: from the head file while the chunk starts in
// it, then from the checkpoint at the position the chunk (or the stream's tail) starts.
func (d *Dir) cut(ex *state.Export, s stored, index uint32) ([]byte, error) {
	off := int64(index) * int64(s.ChunkSize)
	buf := make([]byte, 0, s.ChunkSize)
	st := s.Starts[index]
	if st.Pos == nil {
		f, err := os.Open(filepath.Join(d.dirOf(s.Height), "head"))
		if err != nil {
			return nil, err
		}
		n := min(s.Head-off, int64(s.ChunkSize))
		if n < 0 {
			f.Close()
			return nil, fmt.Errorf("snapshot.json places it in a head of %d bytes", s.Head)
		}
		buf = buf[:n]
		_, err = f.ReadAt(buf, off)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read the head: %w", err)
		}
		st = start{Pos: s.Tail}
	}
	if len(buf) == s.ChunkSize || st.Pos == nil {
		return buf, nil
	}
	c := &cutter{buf: buf, size: s.ChunkSize, skip: st.Skip}
	if err := ex.WriteFrom(c, st.Pos); err != nil && !errors.Is(err, errChunkFull) {
		return nil, err
	}
	return c.buf, nil
}

var errChunkFull = errors.New("chunk full")

// cutter collects stream bytes into one chunk, dropping the first skip.
type cutter struct {
	buf  []byte
	size int
	skip int64
}

func (c *cutter) At([]byte) {}

func (c *cutter) Write(p []byte) (int, error) {
	n := len(p)
	if c.skip > 0 {
		k := min(c.skip, int64(len(p)))
		p, c.skip = p[k:], c.skip-k
	}
	k := min(c.size-len(c.buf), len(p))
	c.buf = append(c.buf, p[:k]...)
	if len(c.buf) == c.size {
		return n, errChunkFull
	}
	return n, nil
}

// hasher cuts a stream into pieces of size bytes and hashes each compressed, noting where
// each piece starts; the bytes before the first resumable item go to head as they are.
type hasher struct {
	size   int
	head   io.Writer
	done   <-chan struct{}
	buf    []byte
	enc    []byte // the compressed chunk, reused
	hashes [][32]byte
	starts []start

	off     int64  // stream bytes so far
	inTail  bool   // At has been called
	headLen int64  // stream bytes before the first At
	tail    []byte // the first At's position
	pos     []byte // the current item's position
	itemAt  int64  // the offset the current item starts at
}

func (h *hasher) At(pos []byte) {
	if !h.inTail {
		h.inTail, h.headLen, h.tail = true, h.off, bytes.Clone(pos)
	}
	h.pos, h.itemAt = pos, h.off
}

func (h *hasher) Write(p []byte) (int, error) {
	n := len(p)
	if !h.inTail {
		if _, err := h.head.Write(p); err != nil {
			return 0, err
		}
	}
	for len(p) > 0 {
		if len(h.buf) == 0 {
			st := start{}
			if h.inTail {
				st = start{Pos: bytes.Clone(h.pos), Skip: h.off - h.itemAt}
			}
			h.starts = append(h.starts, st)
		}
		k := min(h.size-len(h.buf), len(p))
		h.buf = append(h.buf, p[:k]...)
		p, h.off = p[k:], h.off+int64(k)
		if len(h.buf) == h.size {
			if err := h.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (h *hasher) flush() error {
	select {
	case <-h.done:
		return ErrClosed
	default:
	}
	h.enc = snappy.Encode(h.enc[:cap(h.enc)], h.buf)
	h.hashes = append(h.hashes, sha256.Sum256(h.enc))
	h.buf = h.buf[:0]
	return nil
}

func (h *hasher) close() error {
	if len(h.buf) > 0 {
		return h.flush()
	}
	return nil
}
