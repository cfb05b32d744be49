package supply

import (
	"cmp"
	"math"
	"slices"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// Trace bounds: how deep aggregations are followed (item, case, pallet, ... ) and how
// many events one trace answers.
const (
	MaxTraceDepth  = 8
	MaxTraceEvents = 5000
)

// TraceStep is one event of an item's chain of custody: the hex digest of its Event Hash
// ID, the record whose history holds it (the item, or a unit it was inside at the time)
// and the event as stored.
type TraceStep struct {
	Digest string
	Via    string
	Event  *StoredEvent
}

// ItemTrace is an item's chain of custody: its record and those of the units it was
// packed into (item first), and the events in ledger order (StoredEvent.Seq).
type ItemTrace struct {
	Items     []*Item
	Steps     []TraceStep
	Truncated bool // MaxTraceEvents was reached
}

// Trace follows item canon's history and, through its stays, the events of each case or
// pallet while it was inside (and of their own units while those were inside theirs). It
// answers nil when the ledger has no record of canon.
func Trace(r identity.Reader, canon string) *ItemTrace {
	it := getItem(r, canon)
	if it == nil {
		return nil
	}
	t := &tracer{r: r, items: map[string]*Item{}, seen: map[string]bool{}, events: map[string]*StoredEvent{}}
	t.keep(it)
	t.walk(it, 0, len(it.Events)-1, 0, math.MaxInt64, 0)
	slices.SortFunc(t.out.Steps, func(a, b TraceStep) int { return cmp.Compare(a.Event.Seq, b.Event.Seq) })
	return &t.out
}

type tracer struct {
	r      identity.Reader
	items  map[string]*Item
	seen   map[string]bool
	events map[string]*StoredEvent
	out    ItemTrace
}

func (t *tracer) keep(it *Item) {
	if _, ok := t.items[it.ID]; !ok {
		t.items[it.ID] = it
		t.out.Items = append(t.out.Items, it)
	}
}

func (t *tracer) event(digest string) *StoredEvent {
	ev, ok := t.events[digest]
	if !ok {
		ev = GetEvent(t.r, digest)
		t.events[digest] = ev
	}
	return ev
}

// height of an event; a digest with no stored event (not possible for a record the
// contract wrote) counts as outside every window.
func (t *tracer) height(digest string) int64 {
	if ev := t.event(digest); ev != nil {
		return ev.Height
	}
	return -1
}

// walk adds it.Events[from..to] that lie within heights [lo, hi], then follows each stay
// of it that overlaps that window into the parent's events of the stay.
func (t *tracer) walk(it *Item, from, to int, lo, hi int64, depth int) {
	for i := from; i <= to && i < len(it.Events); i++ {
		d := it.Events[i]
		ev := t.event(d)
		if ev == nil || ev.Height < lo || ev.Height > hi || t.seen[d] {
			continue
		}
		if len(t.out.Steps) == MaxTraceEvents {
			t.out.Truncated = true
			return
		}
		t.seen[d] = true
		t.out.Steps = append(t.out.Steps, TraceStep{Digest: d, Via: it.ID, Event: ev})
	}
	if depth >= MaxTraceDepth {
		return
	}
	for _, s := range it.Stays {
		in, out := slices.Index(it.Events, s.In), len(it.Events)-1
		if s.Out != "" {
			out = slices.Index(it.Events, s.Out)
		}
		if in < 0 || out < in || out < from || in > to {
			continue
		}
		p := t.items[s.Parent]
		if p == nil {
			if p = getItem(t.r, s.Parent); p == nil {
				continue
			}
			t.keep(p)
		}
		pin, pout := slices.Index(p.Events, s.In), len(p.Events)-1
		if pin < 0 {
			continue
		}
		// The parent's window in heights: while it held this item, within this item's
		// own window.
		plo, phi := max(lo, t.height(it.Events[max(in, from)])), hi
		if s.Out != "" {
			pout = slices.Index(p.Events, s.Out)
			if pout < 0 {
				pout = len(p.Events) - 1
			}
		}
		if s.Out != "" || to < len(it.Events)-1 {
			phi = min(hi, t.height(it.Events[min(out, to)]))
		}
		t.walk(p, pin, pout, plo, phi, depth+1)
	}
}
