package supply

import (
	"slices"
	"time"
)

// A query is answered by intersecting index lists, each in ledger order (index.go): one
// list per parameter given (the union of its values' lists), and, for a trading partner,
// its visibility list. The intersection leaps: each list is asked for its first event at
// or after the largest candidate so far, so a selective list keeps the others from being
// read entry by entry. Only the events every list holds are read from the state.

// hitKind is what a list answered: an event, no event after the point asked, or that the
// scan budget ran out at seq with no event up to it.
type hitKind int

const (
	hitNone hitKind = iota
	hitFound
	hitPartial
)

type hit struct {
	kind hitKind
	seq  uint64
}

// list is one index list: the entries under prefix, those accept takes (nil: all). A
// scan reads ahead: it keeps the accepted entries it passed (buf, every one in (from,
// end]), reading more each time it is asked beyond them (8, 16, … up to maxReadAhead),
// so a list read in order costs few tree iterators and a list asked to leap reads little.
type list struct {
	prefix string
	accept func(v []byte) bool
	buf    []uint64
	from   uint64 // buf holds every accepted entry in (from, end]
	end    uint64
	done   bool // no entry after end
	valid  bool
	ahead  int
}

const minReadAhead, maxReadAhead = 8, 64

func (l *list) next(r RangeReader, after uint64, budget *int) hit {
	if l.valid && after >= l.from && (l.done || after < l.end) {
		i, _ := slices.BinarySearch(l.buf, after+1)
		if i < len(l.buf) {
			return hit{kind: hitFound, seq: l.buf[i]}
		}
		if l.done {
			return hit{kind: hitNone}
		}
	}
	l.ahead = min(max(minReadAhead, 2*l.ahead), maxReadAhead)
	l.buf, l.from, l.end, l.done, l.valid = l.buf[:0], after, after, false, false
	partial := false
	r.IterateFrom([]byte(l.prefix), []byte(l.prefix+seqText(after+1)), func(k, v []byte) bool {
		seq, ok := seqOf(k, l.prefix)
		if !ok {
			return true
		}
		*budget--
		l.end = seq
		if l.accept == nil || l.accept(v) {
			l.buf = append(l.buf, seq)
			return len(l.buf) < l.ahead
		}
		if *budget <= 0 && len(l.buf) == 0 { // at least one entry read: the answer moves on
			partial = true
			return false
		}
		return *budget > 0
	})
	if partial {
		return hit{kind: hitPartial, seq: l.end}
	}
	l.valid = true
	if len(l.buf) == 0 {
		if *budget > 0 || l.end == after {
			l.done = true
			return hit{kind: hitNone}
		}
		l.valid = false
		return hit{kind: hitPartial, seq: l.end}
	}
	if len(l.buf) < l.ahead && *budget > 0 {
		l.done = true
	}
	return hit{kind: hitFound, seq: l.buf[0]}
}

// has says whether the list holds seq, by one point read.
func (l *list) has(r RangeReader, seq uint64, budget *int) bool {
	*budget--
	v := r.Get([]byte(l.prefix + seqText(seq)))
	return v != nil && (l.accept == nil || l.accept(v))
}

// union is the lists of one parameter's values: an event in any of them.
type union []*list

// maxProbe is the most lists a union checks by point reads before it seeks.
const maxProbe = 4

// has says whether some list of the union holds seq, by point reads; false also when
// the union is too wide to probe.
func (u union) has(r RangeReader, seq uint64, budget *int) bool {
	if len(u) > maxProbe {
		return false
	}
	for _, l := range u {
		if l.has(r, seq, budget) {
			return true
		}
	}
	return false
}

func (u union) next(r RangeReader, after uint64, budget *int) hit {
	best := hit{kind: hitNone}
	var partial uint64
	for _, l := range u {
		switch h := l.next(r, after, budget); h.kind {
		case hitFound:
			if best.kind == hitNone || h.seq < best.seq {
				best = h
			}
		case hitPartial:
			if partial == 0 || h.seq < partial {
				partial = h.seq
			}
		}
	}
	if partial != 0 && (best.kind == hitNone || partial < best.seq) {
		return hit{kind: hitPartial, seq: partial}
	}
	return best
}

// plan is the intersection of the parameters' unions.
type plan []union

// next is the first event after after that every union holds.
func (p plan) next(r RangeReader, after uint64, budget *int) hit {
	lo := after + 1
	for {
		agreed := true
		for i, u := range p {
			if i > 0 && u.has(r, lo, budget) { // the candidate set by the first: a point read
				continue
			}
			h := u.next(r, lo-1, budget)
			if h.kind != hitFound {
				return h
			}
			if h.seq != lo {
				lo, agreed = h.seq, false
				break
			}
		}
		if agreed {
			return hit{kind: hitFound, seq: lo}
		}
	}
}

// roleAccept takes an identifier index entry naming the identifier in one of the roles
// of mask (0: in any).
func roleAccept(mask byte) func(v []byte) bool {
	if mask == 0 {
		return nil
	}
	return func(v []byte) bool { return len(v) == 1 && v[0]&mask != 0 }
}

// epcUnion is the lists of a MATCH_ parameter's values in the given roles (0: any).
func epcUnion(vals []EPCValue, mask byte) union {
	var u union
	for _, v := range vals {
		switch p := v.Pattern; {
		case p == nil:
			u = append(u, &list{prefix: epcIndex(v.ID), accept: roleAccept(mask)})
		case p.Class != "":
			u = append(u, &list{prefix: patClass(p.AI, p.Class), accept: roleAccept(mask)})
		case p.Company != "":
			u = append(u, &list{prefix: patCompany6(p.AI, p.Company), accept: companyAccept(p.AI, p.Company, mask)})
		default:
			u = append(u, &list{prefix: patAny(p.AI), accept: roleAccept(mask)})
		}
	}
	return u
}

func fieldUnion(prefix string, vals []string) union {
	var u union
	for _, v := range vals {
		u = append(u, &list{prefix: fieldIndex(prefix, v)})
	}
	return u
}

// timeUnion is the time index's buckets covering [from, to) (zero: unbounded, within the
// years events have), each entry checked against the exact bounds.
func timeUnion(r RangeReader, from, to time.Time) union {
	first, last, ok := eventYears(r)
	if !ok {
		return union{}
	}
	lo := time.Date(first, 1, 1, 0, 0, 0, 0, time.UTC)
	hi := time.Date(last+1, 1, 1, 0, 0, 0, 0, time.UTC)
	if !from.IsZero() && from.After(lo) {
		lo = from.UTC()
	}
	if !to.IsZero() && to.Before(hi) {
		hi = to.UTC()
	}
	if !lo.Before(hi) {
		return union{}
	}
	fromText, toText := timeText(lo), timeText(hi)
	accept := func(v []byte) bool { s := string(v); return s >= fromText && s < toText }
	var u union
	for _, b := range timeBuckets(lo, hi) {
		u = append(u, &list{prefix: fieldIndex(timePrefix, b), accept: accept})
	}
	return u
}

// timeBuckets covers [lo, hi) with whole years, months and days (the first and last day
// may be partial): at most about two months of days and two years of months at its ends.
func timeBuckets(lo, hi time.Time) []string {
	var out []string
	c := time.Date(lo.Year(), lo.Month(), lo.Day(), 0, 0, 0, 0, time.UTC)
	for c.Before(hi) {
		switch {
		case c.YearDay() == 1 && !c.AddDate(1, 0, 0).After(hi):
			out = append(out, yearBucket(c))
			c = c.AddDate(1, 0, 0)
		case c.Day() == 1 && !c.AddDate(0, 1, 0).After(hi):
			out = append(out, monthBucket(c))
			c = c.AddDate(0, 1, 0)
		default:
			out = append(out, dayBucket(c))
			c = c.AddDate(0, 0, 1)
		}
	}
	return out
}
