package audit_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/audit/audittest"
)

func TestFirstAtOrAfter(t *testing.T) {
	if i, err := audit.FirstAtOrAfter(audittest.MemLog{}, 0, audittest.T0); err != nil || i != 0 {
		t.Fatalf("empty log: %d, %v", i, err)
	}
	evs := audittest.GenEvents(rand.New(rand.NewPCG(1, 2)), 300)
	v := audittest.LogOf(evs)
	linear := func(at time.Time) uint64 {
		for i, e := range evs {
			if !e.Time.Before(at) {
				return uint64(i)
			}
		}
		return uint64(len(evs))
	}
	probes := []time.Time{audittest.T0.Add(-time.Hour), evs[len(evs)-1].Time.Add(time.Nanosecond), evs[len(evs)-1].Time.Add(time.Hour)}
	for _, e := range evs {
		probes = append(probes, e.Time, e.Time.Add(-time.Nanosecond), e.Time.Add(time.Nanosecond))
	}
	for _, at := range probes {
		v.Reads.Store(0)
		got, err := audit.FirstAtOrAfter(v, v.Size, at)
		if err != nil {
			t.Fatal(err)
		}
		if want := linear(at); got != want {
			t.Fatalf("first event at or after %s: %d, want %d", at, got, want)
		}
		if r := v.Reads.Load(); r > 10 { // ceil(log2(301)) leaf reads
			t.Fatalf("binary search read %d leaves of %d", r, v.Size)
		}
	}
	// Every event of a block is inside a range starting at the block's time.
	for i := 1; i < len(evs); i++ {
		if evs[i].Time.Equal(evs[i-1].Time) {
			if got, _ := audit.FirstAtOrAfter(v, v.Size, evs[i].Time); got > uint64(i-1) {
				t.Fatalf("range from the time of event %d starts at %d", i-1, got)
			}
			break
		}
	}
}

func TestQueryReturnsEventsWithIndex(t *testing.T) {
	evs := audittest.GenEvents(rand.New(rand.NewPCG(5, 6)), 50)
	v := audittest.LogOf(evs)
	p, err := audit.Query(v, nil, audit.Filter{Cursor: "10", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 5 || p.Next != "15" {
		t.Fatalf("page from cursor 10: %d events, next %q", len(p.Events), p.Next)
	}
	for k, e := range p.Events {
		want := *evs[10+k]
		want.Index, want.Kind = uint64(10+k), "event"
		if e.Index != uint64(10+k) || !bytes.Equal(e.Encode(), want.Encode()) {
			t.Fatalf("event %d: %+v", 10+k, e)
		}
	}
	if p, _ := audit.Query(v, nil, audit.Filter{Cursor: "50"}); len(p.Events) != 0 || p.Next != "" {
		t.Fatalf("cursor at the end: %+v", p)
	}
	if p, _ := audit.Query(v, nil, audit.Filter{Cursor: "9999"}); len(p.Events) != 0 || p.Next != "" {
		t.Fatalf("cursor past the end: %+v", p)
	}
}
