package state

import (
	"runtime"
	"sync"
)

// Reading ahead. A block's transactions run one after another on one goroutine, and each
// lookup of an index entry there (a new record's head, which does not exist; a read's
// record entry, which at scale is not in the cache) searches the block's batch, the
// memtables and the tables in turn while the other cores wait. The transactions are known
// before the block runs, and what they look up is mostly as the last commit left it, so
// FinalizeBlock has each transaction's lookups done ahead, on every core, against the
// committed index (ReadAhead); GetIndex then answers from what was read unless the block
// has written the key since. The values are the committed ones, and a key the block
// writes is read from the batch again: what a transaction reads is what it would have
// read without this, so execution stays deterministic.

// AheadReader is what a read-ahead function reads: the committed index (each value it reads
// is kept for the block) and the committed state map.
type AheadReader struct {
	s    *Store
	view *View
	got  map[string][]byte
	err  bool
}

// GetIndex reads a committed index entry and keeps it for the block's GetIndex.
func (r *AheadReader) GetIndex(key []byte) []byte {
	if v, ok := r.got[string(key)]; ok {
		return v
	}
	if r.s.retired.Load().absent(key) {
		return nil
	}
	v, err := get(r.s.raw, indexKey(key))
	if err != nil {
		r.err = true // the block's own lookup meets the failure again and halts
		return nil
	}
	r.got[string(key)] = v
	return v
}

// Get reads the committed state map (not kept: its nodes have their own cache).
func (r *AheadReader) Get(key []byte) []byte { return r.view.Get(key) }

// ReadAhead runs each fn, concurrently on every core, against the last committed state,
// and keeps the index entries they read for this block's GetIndex. It must run before the
// block writes anything; later it does nothing.
func (s *Store) ReadAhead(fns []func(*AheadReader)) {
	if len(fns) == 0 || s.block.Count() > 0 {
		return
	}
	view := s.Committed()
	workers := min(runtime.GOMAXPROCS(0), len(fns))
	got := make([]map[string][]byte, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &AheadReader{s: s, view: view, got: map[string][]byte{}}
			for i := w; i < len(fns); i += workers {
				fns[i](r)
			}
			if !r.err {
				got[w] = r.got
			}
		}()
	}
	wg.Wait()
	ahead := got[0]
	for _, m := range got[1:] {
		if ahead == nil {
			ahead = m
			continue
		}
		for k, v := range m {
			ahead[k] = v
		}
	}
	s.ahead = ahead
}

// readAhead answers key from what ReadAhead kept, if it did.
func (s *Store) readAhead(key []byte) ([]byte, bool) {
	v, ok := s.ahead[string(key)]
	if v == nil {
		return nil, ok
	}
	return v[:len(v):len(v)], true // a caller's append copies rather than writing into it
}

// wrote forgets what was read ahead for a key the block has now written.
func (s *Store) wrote(key []byte) {
	if s.ahead != nil {
		delete(s.ahead, string(key))
	}
}
