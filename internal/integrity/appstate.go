package integrity

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/state"
)

// checkAppState checks the application's state database at height against the app hash
// the chain gives for that height (want). Its roots are recomputed from the raw map leaves
// and log entries; with a replay, every map entry, event and index entry must also equal
// the replayed one, which locates the damage and covers the indexes no hash commits to.
func (v *verifier) checkAppState(height int64, want []byte) error {
	snap := v.h.app
	c := snap.Commit()
	if want == nil {
		// Without replay, a last block CometBFT never recorded as applied has no app hash
		// to compare with but the state's own commit record.
		want = c.AppHash
	}
	var rv *state.View
	if v.rp != nil {
		rv = v.rp.view()
	}

	stored := map[string]bool{}
	mapRoot, err := snap.CheckMap(height, func(l state.MapLeaf) error {
		stored[string(l.Key)] = true
		if rv == nil {
			return nil
		}
		if r := rv.Get(l.Key); !bytes.Equal(r, l.Value) {
			if r == nil {
				return fail(l.Version, "state map", "holds key %q, which replaying the chain never writes", l.Key)
			}
			return fail(l.Version, "state map", "key %q holds a value replaying the chain does not produce", l.Key)
		}
		return nil
	})
	if err != nil {
		return fromDamage(err)
	}
	if rv != nil {
		var missing *Failure
		rv.Iterate(nil, func(k, _ []byte) bool {
			if !stored[string(k)] {
				missing = fail(height, "state map", "key %q, which replaying the chain writes, is missing", k)
			}
			return missing == nil
		})
		if missing != nil {
			return missing
		}
	}

	logRoot, err := snap.CheckLog(func(i uint64, leaf []byte) error {
		if rv == nil {
			return nil
		}
		r, err := rv.Leaf(i)
		if err != nil {
			return fail(height, "event log", "holds event %d, which replaying the chain never appends", i)
		}
		if !bytes.Equal(r, leaf) {
			return fail(v.eventHeight(r), "event log", "event %d differs from the one its block appends", i)
		}
		return nil
	})
	if err != nil {
		return fromDamage(err)
	}
	if rv != nil && rv.LogSize() != c.LogSize {
		return fail(height, "event log", "holds %d events, replaying the chain appends %d", c.LogSize, rv.LogSize())
	}

	if rv != nil {
		if f := v.checkIndex(height, rv); f != nil {
			return f
		}
	}

	got := state.AppHash(mapRoot, logRoot, c.LogSize)
	if !bytes.Equal(got, want) {
		return fail(height, "app state", "the stored state hashes to %X but the chain gives %X", got, want)
	}
	if !bytes.Equal(c.AppHash, want) {
		return fail(height, "commit record", "records app hash %X but the chain gives %X", c.AppHash, want)
	}
	v.rep.Events, v.rep.AppHash = c.LogSize, want
	return nil
}

// eventHeight is the height an (authentic) event leaf was appended at; genesis events are
// committed with the first block.
func (v *verifier) eventHeight(leaf []byte) int64 {
	ev, err := audit.Decode(leaf)
	if err != nil || ev.Height < v.h.genesis.InitialHeight {
		return v.h.genesis.InitialHeight
	}
	return ev.Height
}

// fromDamage turns what the state package found into a Failure.
func fromDamage(err error) error {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	var d *state.Damage
	if errors.As(err, &d) {
		return &Failure{Height: d.Height, Part: d.Part, Detail: d.Detail}
	}
	return err
}

// checkIndex compares every stored index entry with the replayed one and returns the damage
// at the lowest height: the height whose block wrote the entry (for an entry no block wrote,
// the height verified). Entries are compared in key order, which is not height order, so the
// whole index is read before the first bad height is known.
func (v *verifier) checkIndex(height int64, rv *state.View) *Failure {
	var first *Failure
	note := func(h int64, format string, args ...any) {
		if h == 0 {
			h = height
		}
		if first == nil || h < first.Height {
			first = fail(h, "index", format, args...)
		}
	}
	var n, m int
	err := v.h.app.IterateIndex(func(k, val []byte) error {
		n++
		if r := rv.GetIndex(k); !bytes.Equal(r, val) {
			if r == nil {
				note(0, "holds entry %s, which no block writes", indexKey(k))
			} else {
				note(v.rp.writtenAt(k), "entry %s differs from the one its block writes", indexKey(k))
			}
		}
		return nil
	})
	if err != nil {
		return fail(height, "index", "does not read: %v", err)
	}
	rv.IterateIndex(nil, func(k, _ []byte) bool {
		m++
		if got, err := v.h.app.GetIndex(k); err != nil || got == nil {
			note(v.rp.writtenAt(k), "entry %s, which its block writes, is missing", indexKey(k))
		}
		return true
	})
	if first == nil && n != m {
		return fail(height, "index", "holds %d entries, replaying the chain writes %d", n, m)
	}
	return first
}

// indexKey shows an index key as its readable prefix and the rest in hex ("txr/9f3a...").
func indexKey(k []byte) string {
	i := 0
	for i < len(k) && k[i] >= 0x20 && k[i] < 0x7f {
		i++
	}
	if i == len(k) {
		return fmt.Sprintf("%q", k)
	}
	j := bytes.LastIndexByte(k[:i], '/') + 1
	return fmt.Sprintf("%q", fmt.Sprintf("%s%x", k[:j], k[j:]))
}
