package state

import (
	"bytes"
	"errors"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
	idb "github.com/cosmos/iavl/db"
)

// treeDB gives IAVL a key-prefixed view of the node's own pebble database, so the state map
// shares its block cache and options with the event log and the indexes. With r set it reads
// from r instead (a checkpoint, for exporting one height while blocks commit).
type treeDB struct {
	db     *pebble.DB
	r      pebble.Reader
	prefix []byte
	writes *atomic.Int64 // keys written through its batches, if set (the writer's tree)
	bytes  *atomic.Int64 // bytes committed through its batches, if set (Store.WriteAmp)
}

func (t treeDB) reader() pebble.Reader {
	if t.r != nil {
		return t.r
	}
	return t.db
}

var _ idb.DB = treeDB{}

var errClosedBatch = errors.New("batch already written or closed")

func (t treeDB) key(k []byte) []byte { return append(bytes.Clone(t.prefix), k...) }

func (t treeDB) Get(k []byte) ([]byte, error) { return get(t.reader(), t.key(k)) }

func (t treeDB) Has(k []byte) (bool, error) {
	v, err := t.Get(k)
	return v != nil, err
}

func (t treeDB) Iterator(start, end []byte) (idb.Iterator, error) {
	return t.iter(start, end, false)
}

func (t treeDB) ReverseIterator(start, end []byte) (idb.Iterator, error) {
	return t.iter(start, end, true)
}

func (t treeDB) iter(start, end []byte, reverse bool) (idb.Iterator, error) {
	lo := t.key(start)
	hi := PrefixEnd(t.prefix)
	if end != nil {
		hi = t.key(end)
	}
	it, err := t.reader().NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	if reverse {
		it.Last()
	} else {
		it.First()
	}
	return &treeIter{it: it, n: len(t.prefix), start: start, end: end, reverse: reverse}, nil
}

// Close is a no-op: the Store owns the database.
func (t treeDB) Close() error { return nil }

// NewBatch writes to the database; a view over a snapshot (no db) refuses every write.
func (t treeDB) NewBatch() idb.Batch {
	if t.db == nil {
		return &treeBatch{t: t}
	}
	return &treeBatch{t: t, b: t.db.NewBatch()}
}
func (t treeDB) NewBatchWithSize(int) idb.Batch { return t.NewBatch() }

type treeIter struct {
	it         *pebble.Iterator
	n          int
	start, end []byte
	reverse    bool
}

func (i *treeIter) Domain() ([]byte, []byte) { return i.start, i.end }
func (i *treeIter) Valid() bool              { return i.it.Valid() }
func (i *treeIter) Key() []byte              { return bytes.Clone(i.it.Key()[i.n:]) }
func (i *treeIter) Value() []byte            { return bytes.Clone(i.it.Value()) }
func (i *treeIter) Error() error             { return i.it.Error() }
func (i *treeIter) Close() error             { return i.it.Close() }
func (i *treeIter) Next() {
	if i.reverse {
		i.it.Prev()
	} else {
		i.it.Next()
	}
}

type treeBatch struct {
	t treeDB
	b *pebble.Batch
}

func (b *treeBatch) Set(k, v []byte) error {
	if b.b == nil {
		return errClosedBatch
	}
	return b.b.Set(b.t.key(k), v, nil)
}

func (b *treeBatch) Delete(k []byte) error {
	if b.b == nil {
		return errClosedBatch
	}
	return b.b.Delete(b.t.key(k), nil)
}

func (b *treeBatch) commit(o *pebble.WriteOptions) error {
	if b.b == nil {
		return errClosedBatch
	}
	if b.t.writes != nil {
		b.t.writes.Add(int64(b.b.Count()))
	}
	if b.t.bytes != nil {
		b.t.bytes.Add(int64(len(b.b.Repr())))
	}
	err := b.b.Commit(o)
	b.Close()
	return err
}

func (b *treeBatch) Write() error { return b.commit(pebble.NoSync) }

// WriteSync cannot sync: the database has no write-ahead log (durable.go).
func (b *treeBatch) WriteSync() error { return b.commit(pebble.NoSync) }

func (b *treeBatch) Close() error {
	if b.b != nil {
		b.b.Close()
		b.b = nil
	}
	return nil
}

func (b *treeBatch) GetByteSize() (int, error) {
	if b.b == nil {
		return 0, errClosedBatch
	}
	return b.b.Len(), nil
}
