package state

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble"
	"github.com/cosmos/iavl"

	"github.com/ehrchain/ehrchain/internal/merklelog"
)

// Export is a consistent read of one committed height: a checkpoint of the state database
// (Store.Checkpoint) opened on its own, so it outlives restarts and the live database goes
// on committing and compacting beside it.
type Export struct {
	r    *pebble.DB
	c    Commit
	once bool
}

// OpenCheckpoint opens the checkpoint in dir (Store.Checkpoint) as an export of the height it
// holds. The checkpoint's copy of the write-ahead log is flushed into a table of its own and
// automatic compactions are off, so the tables it shares with the live database by hard
// link stay shared. Only erasures the live database had not yet shredded when the
// checkpoint was taken are shredded here too: the checkpoint would otherwise keep their
// bytes, in the tables it links, for as long as it lives.
func OpenCheckpoint(dir string) (*Export, error) {
	db, err := pebble.Open(dir, &pebble.Options{DisableAutomaticCompactions: true, Logger: quietLogger{},
		Cleaner: shredCleaner{}, MemTableSize: 4 << 20})
	if err != nil {
		return nil, fmt.Errorf("open the checkpoint %s: %w", dir, err)
	}
	c, err := func() (Commit, error) {
		if err := db.Flush(); err != nil {
			return Commit{}, err
		}
		if err := shredLists(db, nil, func(uint64, int) {}); err != nil {
			return Commit{}, err
		}
		v, closer, err := db.Get(metaKey)
		if err != nil {
			return Commit{}, fmt.Errorf("read its commit record: %w", err)
		}
		defer closer.Close()
		var c Commit
		if err := json.Unmarshal(v, &c); err != nil || c.Height == 0 {
			return Commit{}, fmt.Errorf("its commit record is corrupt")
		}
		return c, nil
	}()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open the checkpoint %s: %w", dir, err)
	}
	return &Export{r: db, c: c}, nil
}

// Commit is the commit record the export holds.
func (e *Export) Commit() Commit { return e.c }

// Close releases the export. Closing twice is harmless.
func (e *Export) Close() {
	if e.once {
		return
	}
	e.once = true
	e.r.Close()
}

// StreamSink receives a state stream, one item per Write. At is called before each item the
// stream can resume from (every item after the state map: log leaves, index entries, the
// commit record) with that item's position, valid until the next call.
type StreamSink interface {
	io.Writer
	At(pos []byte)
}

// WriteTo writes the state stream of the export's height to w (see stream.go).
func (e *Export) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err := e.WriteFrom(plainSink{bw}, nil); err != nil {
		return cw.n, err
	}
	err := bw.Flush()
	return cw.n, err
}

// WriteFrom writes the state stream from position from (one At reported; nil: the stream's
// start) to its end, and stops at the first error w returns.
func (e *Export) WriteFrom(w StreamSink, from []byte) error {
	var buf, pos []byte
	emit := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	section := byte(0) // the whole stream
	if len(from) > 0 {
		section = from[0]
	}
	switch {
	case from == nil:
	case section == tagLeaf && len(from) == 9, section == tagIndex, section == tagCommit && len(from) == 1:
	default:
		return fmt.Errorf("export: %x is not a stream position", from)
	}

	if section == 0 {
		if _, err := w.Write([]byte(streamMagic)); err != nil {
			return err
		}
		if err := e.writeMap(&buf, emit); err != nil {
			return err
		}
	}

	if section == 0 || section == tagLeaf {
		lo := uint64(0)
		if section == tagLeaf {
			lo = binary.BigEndian.Uint64(from[1:])
		}
		err := merklelog.IterateLeavesFrom(e.r, logPrefix, lo, e.c.LogSize, func(i uint64, leaf []byte) error {
			pos = binary.BigEndian.AppendUint64(append(pos[:0], tagLeaf), i)
			w.At(pos)
			buf = appendBytes(append(buf, tagLeaf), leaf)
			return emit()
		})
		if err != nil {
			return fmt.Errorf("export event log: %w", err)
		}
	}

	if section != tagCommit {
		var start []byte
		if section == tagIndex {
			start = from[1:]
		}
		err := iterateIndex(e.r, nil, start, func(k, v []byte) (bool, error) {
			pos = append(append(pos[:0], tagIndex), k...)
			w.At(pos)
			buf = appendBytes(appendBytes(append(buf, tagIndex), k), v)
			return true, emit()
		})
		if err != nil {
			return fmt.Errorf("export index: %w", err)
		}
	}

	w.At([]byte{tagCommit})
	meta, _ := json.Marshal(e.c)
	buf = appendBytes(append(buf, tagCommit), meta)
	return emit()
}

// writeMap writes the state map's IAVL export, post-order.
func (e *Export) writeMap(buf *[]byte, emit func() error) error {
	tree := iavl.NewMutableTree(treeDB{r: e.r, prefix: treePrefix}, 10_000, true, iavl.NewNopLogger())
	it, err := tree.GetImmutable(e.c.Height)
	if err != nil {
		return fmt.Errorf("export: open state map version %d: %w", e.c.Height, err)
	}
	if it.Size() == 0 {
		return nil
	}
	ex, err := it.Export()
	if err != nil {
		return fmt.Errorf("export state map: %w", err)
	}
	defer ex.Close()
	for {
		n, err := ex.Next()
		if errors.Is(err, iavl.ErrorExportDone) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("export state map: %w", err)
		}
		b := append(*buf, tagNode)
		b = binary.AppendUvarint(b, uint64(n.Version))
		b = append(b, byte(n.Height))
		b = appendBytes(b, n.Key)
		if n.Height == 0 {
			b = appendBytes(b, n.Value)
		}
		*buf = b
		if err := emit(); err != nil {
			return err
		}
	}
}

// plainSink writes a stream without marking positions.
type plainSink struct{ io.Writer }

func (plainSink) At([]byte) {}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
