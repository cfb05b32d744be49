package supply

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Index prefixes of the query parameters beyond identifiers and locations (index.go has
// the layout).
const (
	typePrefix = "epcis/ixy/"
	stepPrefix = "epcis/ixs/"
	dispPrefix = "epcis/ixd/"
	timePrefix = "epcis/ixt/"
	patPrefix  = "epcis/ixp/"
	lotPrefix  = "epcis/lot/"
)

// timeYearsKey holds the first and last year of any indexed eventTime, so that an open
// time range is walked over the years events have, not to year 9999.
var timeYearsKey = []byte("epcis/ixtyears")

func fieldIndex(prefix, value string) string { return prefix + value + "\x00" }

// timeText is an eventTime as the time index holds it: UTC, fixed width, so that text
// order is time order.
func timeText(t time.Time) string { return t.UTC().Format("20060102150405.000000000") }

// The time index's buckets: an event is under its year, its month and its day, so a
// range is a few whole years, months and days (timeBuckets).
func yearBucket(t time.Time) string  { return t.Format("Y2006") }
func monthBucket(t time.Time) string { return t.Format("M200601") }
func dayBucket(t time.Time) string   { return t.Format("D20060102") }

// indexFields writes the eventType, bizStep, disposition and eventTime indexes of a new
// event, and the lot index of what it commissions into a lot.
func indexFields(st Store, seq uint64, f facts) {
	s := seqText(seq)
	if f.Type != "" {
		st.Set([]byte(fieldIndex(typePrefix, f.Type)+s), []byte{1})
	}
	if f.BizStep != "" {
		st.Set([]byte(fieldIndex(stepPrefix, cbvWord(f.BizStep, "BizStep"))+s), []byte{1})
	}
	if f.Disposition != "" {
		st.Set([]byte(fieldIndex(dispPrefix, cbvWord(f.Disposition, "Disp"))+s), []byte{1})
	}
	var ev struct {
		EventTime string `json:"eventTime"`
	}
	if json.Unmarshal(f.raw, &ev) == nil {
		if t, err := time.Parse(time.RFC3339Nano, ev.EventTime); err == nil && t.UTC().Year() <= 9999 {
			t = t.UTC()
			v := []byte(timeText(t))
			for _, b := range []string{yearBucket(t), monthBucket(t), dayBucket(t)} {
				st.Set([]byte(fieldIndex(timePrefix, b)+s), v)
			}
			widenYears(st, t.Year())
		}
	}
	for _, id := range f.commissioned() {
		c := CanonicalID(id)
		if lot := f.lotOf(c); lot != "" {
			st.Set(lotKey(lot, c), []byte{1})
		}
	}
}

// eventYears is the first and last year of the indexed eventTimes; ok false before any.
func eventYears(r interface{ Get([]byte) []byte }) (first, last int, ok bool) {
	b := r.Get(timeYearsKey)
	if b == nil {
		return 0, 0, false
	}
	_, err := fmt.Sscanf(string(b), "%d %d", &first, &last)
	return first, last, err == nil
}

func widenYears(st Store, y int) {
	first, last, ok := eventYears(st)
	switch {
	case !ok:
		first, last = y, y
	case y < first:
		first = y
	case y > last:
		last = y
	default:
		return
	}
	st.Set(timeYearsKey, fmt.Appendf(nil, "%d %d", first, last))
}

// lotKey indexes an item commissioned into a lot (both canonical), so a lot trace lists
// the lot's serials without reading other items.
func lotKey(lot, item string) []byte { return []byte(lotIndex(lot) + item) }

func lotIndex(lot string) string { return lotPrefix + lot + "\x00" }

// The EPC pattern indexes of one scheme (ai): every event naming an identifier of the
// scheme; of a class (a GTIN, a GLN); and of a 6-digit run that begins the key's company
// prefix. A Digital Link does not say how long the company prefix is, so the last holds,
// for each event, the key digits (body) of the identifiers under it, and a pattern's
// longer prefix is checked against them without reading the event.
func patAny(ai string) string              { return patPrefix + ai + "/*\x00" }
func patClass(ai, key string) string       { return patPrefix + ai + "/g/" + key + "\x00" }
func patCompany6(ai, digits string) string { return patPrefix + ai + "/c/" + digits[:6] + "\x00" }

// indexClasses writes the pattern indexes of a new event's identifiers (canonical, in
// document order, with the fields naming each: roles). One entry per index key, its
// roles merged, in document order.
func indexClasses(st Store, seq uint64, ids []string, roles map[string]byte) {
	type entry struct {
		roles  byte
		bodies []string // company buckets: the bodies under it, in order
		body   map[string]byte
	}
	entries := map[string]*entry{}
	var order []string
	get := func(k string) *entry {
		e, ok := entries[k]
		if !ok {
			e = &entry{body: map[string]byte{}}
			entries[k] = e
			order = append(order, k)
		}
		return e
	}
	for _, c := range ids {
		ai, key, _, ok := keyDigits(c)
		if !ok {
			continue
		}
		r := roles[c]
		get(patAny(ai)).roles |= r
		if ai != "00" { // an SSCC has no class level: CP.* is its finest pattern
			get(patClass(ai, key)).roles |= r
		}
		b := body(ai, key)
		e := get(patCompany6(ai, b))
		if _, ok := e.body[b]; !ok {
			e.bodies = append(e.bodies, b)
		}
		e.body[b] |= r
	}
	s := seqText(seq)
	for _, k := range order {
		e := entries[k]
		if len(e.bodies) == 0 {
			st.Set([]byte(k+s), []byte{e.roles})
			continue
		}
		var v []byte
		for _, b := range e.bodies {
			v = append(append(v, e.body[b]), b...)
		}
		st.Set([]byte(k+s), v)
	}
}

// companyAccept reads a company bucket's value: whether it holds a body that begins with
// the company prefix cp under one of the roles in mask (0: any).
func companyAccept(ai, cp string, mask byte) func(v []byte) bool {
	n := bodyLen[ai] + 1
	return func(v []byte) bool {
		for len(v) >= n {
			if (mask == 0 || v[0]&mask != 0) && strings.HasPrefix(string(v[1:n]), cp) {
				return true
			}
			v = v[n:]
		}
		return false
	}
}
