// Package auditindex is a node's secondary index of the audit log, in its own pebble
// database outside consensus. It lives apart from package audit so that the event
// vocabulary every handler and client uses does not pull in a storage engine.
package auditindex

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/state"
)

// Index is a node's secondary index of the audit log, so that a query by patient, actor,
// organization, action or outcome reads only the events that carry those values instead of
// the whole log. It lives in its own database outside consensus: it is not hashed, no other
// node sees it, and it holds nothing the log does not, so it can always be deleted and
// rebuilt. Queries re-check every event against their filter, so the index only ever
// narrows the search.
//
// Keys: one posting per (field, value, event index), a field byte, the value length-prefixed,
// then the index as 8 big-endian bytes, so the postings of one value are in log order. A
// meta key holds how many events are indexed and the hash of the last one, to notice at
// open that the log is not the one indexed (state restored from elsewhere).
//
// Safe for concurrent use: one CatchUp writes at a time while any number of queries read.
type Index struct {
	db   *pebble.DB
	size atomic.Uint64 // the first size events of the log are indexed

	wmu     sync.Mutex // one catch-up at a time
	checked bool       // under wmu: the indexed prefix was compared with the log

	mu       sync.RWMutex // held shared by readers and the writer, exclusively by Close
	closed   bool
	stopping atomic.Bool

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{} // closed when the follower exits; nil without one
}

// Posting fields.
const (
	fieldAbout   byte = 'p'
	fieldActor   byte = 'a'
	fieldOrg     byte = 'o'
	fieldAction  byte = 'x'
	fieldFamily  byte = 'f'
	fieldOutcome byte = 'u'
)

var indexMetaKey = []byte("\x00meta")

const (
	indexFormat = 1    // bump to rebuild every index on upgrade
	indexChunk  = 2048 // events per write batch
)

var errIndexClosed = errors.New("audit index is closed")

type posting struct {
	field byte
	value string
}

// eventPostings are the index entries of one event.
func eventPostings(e *audit.Event) []posting {
	all := []posting{{fieldAbout, e.About()}, {fieldActor, e.Actor}, {fieldOrg, e.Organization},
		{fieldAction, e.Action}, {fieldFamily, family(e.Action)}, {fieldOutcome, e.Outcome}}
	out := all[:0]
	for _, p := range all {
		if p.value != "" {
			out = append(out, p)
		}
	}
	return out
}

// filterPostings are the postings an event must carry to match f (time aside).
func filterPostings(f audit.Filter) []posting {
	var out []posting
	add := func(field byte, v string) {
		if v != "" {
			out = append(out, posting{field, v})
		}
	}
	add(fieldAbout, f.Patient)
	add(fieldActor, f.Actor)
	add(fieldOrg, f.Organization)
	if fam, ok := strings.CutSuffix(f.Action, ".*"); ok {
		add(fieldFamily, fam)
	} else {
		add(fieldAction, f.Action)
	}
	add(fieldOutcome, f.Outcome)
	return out
}

func (p posting) prefix() []byte {
	b := binary.AppendUvarint([]byte{p.field}, uint64(len(p.value)))
	return append(b, p.value...)
}

func (p posting) key(index uint64) []byte { return binary.BigEndian.AppendUint64(p.prefix(), index) }

// Open opens (or creates) the index database in dir. A database pebble reports as
// corrupt is deleted and started again.
func Open(dir string) (*Index, error) {
	opts := &pebble.Options{Logger: quietLogger{}}
	db, err := pebble.Open(dir, opts)
	if errors.Is(err, pebble.ErrCorruption) {
		if err = os.RemoveAll(dir); err == nil {
			db, err = pebble.Open(dir, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open audit index in %s: %w", dir, err)
	}
	x := &Index{db: db}
	size, _, ok, err := x.meta()
	if err == nil && !ok {
		err = x.reset()
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("audit index in %s: %w", dir, err)
	}
	x.size.Store(size)
	return x, nil
}

// quietLogger drops pebble's informational messages (WAL replay at every open).
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}

func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("audit index: "+format, args...))
}

// meta reads how many events are indexed and the hash of the last one; ok is false when
// there is no meta record of this format.
func (x *Index) meta() (size uint64, last []byte, ok bool, err error) {
	v, closer, err := x.db.Get(indexMetaKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, err
	}
	defer closer.Close()
	if len(v) != 1+8+sha256.Size || v[0] != indexFormat {
		return 0, nil, false, nil
	}
	return binary.BigEndian.Uint64(v[1:9]), bytes.Clone(v[9:]), true, nil
}

func putMeta(b *pebble.Batch, size uint64, lastLeaf []byte) error {
	v := append([]byte{indexFormat}, binary.BigEndian.AppendUint64(nil, size)...)
	var h [sha256.Size]byte
	if lastLeaf != nil {
		h = sha256.Sum256(lastLeaf)
	}
	return b.Set(indexMetaKey, append(v, h[:]...), nil)
}

// reset empties the index.
func (x *Index) reset() error {
	b := x.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange([]byte{0}, []byte{0xff}, nil); err != nil {
		return err
	}
	if err := putMeta(b, 0, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	x.size.Store(0)
	return nil
}

// Size is the number of events indexed.
func (x *Index) Size() uint64 { return x.size.Load() }

// CatchUp indexes the events of v not indexed yet. The first call after Open also
// checks that the indexed events are the start of v's log (same count at most, same last
// event) and otherwise rebuilds from scratch. A v older than the index is left alone.
//
// A nil *Index (a node without one) reports itself closed, so that a nil index passed as
// an audit.Narrower makes queries scan instead of crashing.
func (x *Index) CatchUp(v audit.LogView) error {
	if x == nil {
		return errIndexClosed
	}
	x.wmu.Lock()
	defer x.wmu.Unlock()
	n := v.LogSize()
	if !x.checked {
		if err := x.check(v, n); err != nil {
			return err
		}
		x.checked = true
	}
	for x.size.Load() < n {
		if err := x.indexChunk(v, n); err != nil {
			return err
		}
	}
	return nil
}

func (x *Index) check(v audit.LogView, n uint64) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return errIndexClosed
	}
	size, last, _, err := x.meta()
	if err != nil || size == 0 {
		return err
	}
	if size <= n {
		leaf, err := v.Leaf(size - 1)
		if err != nil {
			return err
		}
		if h := sha256.Sum256(leaf); bytes.Equal(h[:], last) {
			return nil
		}
	}
	return x.reset() // not this log's index
}

// indexChunk indexes up to indexChunk events in one atomic batch, meta included, so a crash
// leaves the index at a chunk boundary.
func (x *Index) indexChunk(v audit.LogView, n uint64) error {
	if x.stopping.Load() {
		return errIndexClosed
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return errIndexClosed
	}
	from := x.size.Load()
	to := min(n, from+indexChunk)
	b := x.db.NewBatch()
	defer b.Close()
	var leaf []byte
	for i := from; i < to; i++ {
		var err error
		if leaf, err = v.Leaf(i); err != nil {
			return err
		}
		e, err := audit.Decode(leaf)
		if err != nil {
			return fmt.Errorf("event %d is corrupt: %w", i, err)
		}
		for _, p := range eventPostings(e) {
			if err := b.Set(p.key(i), nil, nil); err != nil {
				return err
			}
		}
	}
	if err := putMeta(b, to, leaf); err != nil {
		return err
	}
	// Not synced: a crash may lose the last chunks, which the next catch-up redoes.
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	x.size.Store(to)
	return nil
}

// Join returns next(i): the first event index at or after i that carries every posting of f
// (ok false past the last one), found by leapfrogging over the postings of each value. It
// returns ok false when f has no postings to narrow by or the index does not cover n
// events; the caller then scans. release must be called when done.
func (x *Index) Join(f audit.Filter, n uint64) (next func(uint64) (uint64, bool, error), release func(), ok bool) {
	ps := filterPostings(f)
	if x == nil || len(ps) == 0 {
		return nil, nil, false
	}
	x.mu.RLock()
	if x.closed || x.size.Load() < n {
		x.mu.RUnlock()
		return nil, nil, false
	}
	its := make([]*pebble.Iterator, 0, len(ps))
	prefixes := make([][]byte, 0, len(ps))
	release = func() {
		for _, it := range its {
			it.Close()
		}
		x.mu.RUnlock()
	}
	for _, p := range ps {
		pre := p.prefix()
		it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: pre, UpperBound: state.PrefixEnd(pre)})
		if err != nil {
			release()
			return nil, nil, false
		}
		its, prefixes = append(its, it), append(prefixes, pre)
	}
	next = func(i uint64) (uint64, bool, error) {
		for {
			agreed := true
			for k, it := range its {
				if !it.SeekGE(binary.BigEndian.AppendUint64(bytes.Clone(prefixes[k]), i)) {
					return 0, false, it.Error()
				}
				key := it.Key()
				if len(key) != len(prefixes[k])+8 {
					return 0, false, fmt.Errorf("audit index: malformed key %x", key)
				}
				if got := binary.BigEndian.Uint64(key[len(prefixes[k]):]); got != i {
					i, agreed = got, false
				}
			}
			if agreed {
				return i, true, nil
			}
		}
	}
	return next, release, true
}

// Follow keeps the index up to date in the background: it catches up with view() now and
// then every interval, until Close. Catch-up failures go to logf, once per distinct error;
// queries meanwhile scan the log. Call it at most once.
func (x *Index) Follow(view func() audit.LogView, every time.Duration, logf func(string, ...any)) {
	x.stop, x.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(x.done)
		t := time.NewTicker(every)
		defer t.Stop()
		last := ""
		for {
			switch err := x.CatchUp(view()); {
			case err == nil:
				last = ""
			case errors.Is(err, errIndexClosed):
				return
			case err.Error() != last:
				last = err.Error()
				logf("audit index: catching up failed, queries scan the log until it works: %v", err)
			}
			select {
			case <-x.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the follower and closes the database. Closing twice is harmless.
func (x *Index) Close() error {
	x.stopping.Store(true)
	if x.stop != nil {
		x.stopOnce.Do(func() { close(x.stop) })
		<-x.done
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	return x.db.Close()
}

// family is the part of an action before its first dot ("record" of "record.read").
func family(action string) string {
	f, _, _ := strings.Cut(action, ".")
	return f
}
