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

// ErrClosed is returned by an export interrupted because the store is closing.
var ErrClosed = errors.New("the state database is closing")

// Export is a consistent read of one committed height: a pebble snapshot taken right after
// the height's commit. Later blocks commit meanwhile; the export sees none of their writes.
type Export struct {
	s    *Store
	snap *pebble.Snapshot
	c    Commit
	once bool
}

// Export opens an export of the last commit. Call it where no Commit can run concurrently
// (right after Commit, on the consensus goroutine); the export itself may then be written
// from any goroutine. Close must be called; the store's Close waits for open exports and
// makes running ones fail with ErrClosed.
func (s *Store) Export() (*Export, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.last.Height == 0 {
		return nil, errors.New("export: nothing is committed yet")
	}
	s.exports.Add(1)
	s.exporting.Add(1)
	return &Export{s: s, snap: s.raw.NewSnapshot(), c: s.last}, nil
}

// Commit is the commit record the export holds.
func (e *Export) Commit() Commit { return e.c }

// Close releases the snapshot.
func (e *Export) Close() {
	if e.once {
		return
	}
	e.once = true
	e.snap.Close()
	e.s.exporting.Add(-1)
	e.s.wakeShredder() // it waits for snapshots older than an erasure to close
	e.s.exports.Done()
}

// WriteTo writes the state stream of the export's height to w (see stream.go).
func (e *Export) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	var buf []byte
	items := 0
	emit := func() error {
		if items++; items%256 == 1 {
			select {
			case <-e.s.done:
				return ErrClosed
			default:
			}
		}
		_, err := bw.Write(buf)
		buf = buf[:0]
		return err
	}
	if _, err := bw.WriteString(streamMagic); err != nil {
		return cw.n, err
	}

	tree := iavl.NewMutableTree(treeDB{r: e.snap, prefix: treePrefix}, 10_000, true, iavl.NewNopLogger())
	it, err := tree.GetImmutable(e.c.Height)
	if err != nil {
		return cw.n, fmt.Errorf("export: open state map version %d: %w", e.c.Height, err)
	}
	if it.Size() > 0 {
		ex, err := it.Export()
		if err != nil {
			return cw.n, fmt.Errorf("export state map: %w", err)
		}
		defer ex.Close()
		for {
			n, err := ex.Next()
			if errors.Is(err, iavl.ErrorExportDone) {
				break
			}
			if err != nil {
				return cw.n, fmt.Errorf("export state map: %w", err)
			}
			buf = append(buf, tagNode)
			buf = binary.AppendUvarint(buf, uint64(n.Version))
			buf = append(buf, byte(n.Height))
			buf = appendBytes(buf, n.Key)
			if n.Height == 0 {
				buf = appendBytes(buf, n.Value)
			}
			if err := emit(); err != nil {
				return cw.n, err
			}
		}
	}

	err = merklelog.IterateLeaves(e.snap, logPrefix, e.c.LogSize, func(_ uint64, leaf []byte) error {
		buf = appendBytes(append(buf, tagLeaf), leaf)
		return emit()
	})
	if err != nil {
		return cw.n, fmt.Errorf("export event log: %w", err)
	}

	lo := []byte{indexPrefix}
	iter, err := e.snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: PrefixEnd(lo)})
	if err != nil {
		return cw.n, err
	}
	for iter.First(); iter.Valid(); iter.Next() {
		buf = appendBytes(appendBytes(append(buf, tagIndex), iter.Key()[1:]), iter.Value())
		if err := emit(); err != nil {
			iter.Close()
			return cw.n, err
		}
	}
	if err := iter.Close(); err != nil {
		return cw.n, fmt.Errorf("export index: %w", err)
	}

	meta, _ := json.Marshal(e.c)
	buf = appendBytes(append(buf, tagCommit), meta)
	if err := emit(); err != nil {
		return cw.n, err
	}
	err = bw.Flush()
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
