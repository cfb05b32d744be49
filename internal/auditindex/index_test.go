package auditindex

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/audit/audittest"
)

func openIndex(t *testing.T, dir string) *Index {
	t.Helper()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// all follows every page of f and checks the paging contract on the way.
func all(t *testing.T, v audit.LogView, ix *Index, f audit.Filter) []uint64 {
	t.Helper()
	limit := f.Limit
	if limit == 0 {
		limit = audit.DefaultLimit
	}
	var got []uint64
	for pages := 0; ; pages++ {
		p, err := audit.Query(v, ix, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if len(p.Events) > limit || (p.Next != "" && len(p.Events) != limit) {
			t.Fatalf("page of %d events with next %q at limit %d", len(p.Events), p.Next, limit)
		}
		for _, e := range p.Events {
			got = append(got, e.Index)
		}
		if p.Next == "" {
			return got
		}
		if pages > int(v.LogSize())+1 {
			t.Fatal("paging does not end")
		}
		f.Cursor = p.Next
	}
}

// brute is what a filter must select, computed independently: decode every leaf and test
// each field by hand.
func brute(t *testing.T, v audittest.MemLog, f audit.Filter) []uint64 {
	t.Helper()
	var out []uint64
	for i := range v.Size {
		e := v.Decoded[i]
		about := e.Patient
		if about == "" {
			about = e.Subject
		}
		ok := (f.Patient == "" || about == f.Patient) && (f.Actor == "" || e.Actor == f.Actor) &&
			(f.Organization == "" || e.Organization == f.Organization) && (f.Outcome == "" || e.Outcome == f.Outcome) &&
			(f.From.IsZero() || !e.Time.Before(f.From)) && (f.To.IsZero() || e.Time.Before(f.To))
		switch {
		case f.Action == "":
		case f.Action[len(f.Action)-1] == '*':
			ok = ok && len(e.Action) > len(f.Action)-1 && e.Action[:len(f.Action)-1] == f.Action[:len(f.Action)-1]
		default:
			ok = ok && e.Action == f.Action
		}
		if ok {
			out = append(out, i)
		}
	}
	return out
}

func randomFilter(rng *rand.Rand, evs []*audit.Event) audit.Filter {
	var f audit.Filter
	maybe := func(pool ...string) string {
		if rng.IntN(3) == 0 {
			return pool[rng.IntN(len(pool))]
		}
		return ""
	}
	f.Patient = maybe("p1", "p2", "p3", "a1", "nobody")
	f.Actor = maybe("a1", "a2", "p1", "rare", "nobody")
	f.Organization = maybe("org1", "org2", "none")
	f.Action = maybe(append(slices.Clone(audit.KnownActions), "record.*", "identity.*", "consent.*", "keys.*")...)
	f.Outcome = maybe(audit.Success, audit.Denied)
	if len(evs) > 0 && rng.IntN(3) == 0 {
		f.From = evs[rng.IntN(len(evs))].Time.Add(time.Duration(rng.IntN(3)-1) * time.Nanosecond)
	}
	if len(evs) > 0 && rng.IntN(3) == 0 {
		f.To = evs[rng.IntN(len(evs))].Time.Add(time.Duration(rng.IntN(3)-1) * time.Nanosecond)
		if f.To.Before(f.From) {
			f.From, f.To = f.To, f.From
		}
	}
	f.Limit = []int{0, 1, 2, 7, audit.MaxLimit}[rng.IntN(5)]
	return f
}

func TestQueryMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	evs := audittest.GenEvents(rng, 500)
	v := audittest.LogOf(evs)
	ix := openIndex(t, t.TempDir())
	for range 300 {
		f := randomFilter(rng, evs)
		want := brute(t, v, f)
		if got := all(t, v, nil, f); !slices.Equal(got, want) {
			t.Fatalf("scan %+v:\n got %v\nwant %v", f, got, want)
		}
		if got := all(t, v, ix, f); !slices.Equal(got, want) {
			t.Fatalf("index %+v:\n got %v\nwant %v", f, got, want)
		}
	}
}

func TestIndexNarrowsTheSearch(t *testing.T) {
	evs := audittest.GenEvents(rand.New(rand.NewPCG(7, 8)), 2000)
	v := audittest.LogOf(evs)
	ix := openIndex(t, t.TempDir())
	if err := ix.CatchUp(v); err != nil {
		t.Fatal(err)
	}
	f := audit.Filter{Actor: "rare", Limit: audit.MaxLimit}
	want := brute(t, v, f)
	v.Reads.Store(0)
	if got := all(t, v, ix, f); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// The index reads only the matching leaves; a scan reads them all.
	if r := v.Reads.Load(); r != int64(len(want)) {
		t.Fatalf("indexed query read %d leaves for %d matches in a log of %d", r, len(want), len(evs))
	}
}

func TestIndexCatchUpIncrementally(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	evs := audittest.GenEvents(rng, 3*indexChunk+100)
	full := audittest.LogOf(evs)
	dir := t.TempDir()
	ix := openIndex(t, dir)
	for _, n := range []uint64{0, 1, 2, 50, indexChunk, indexChunk + 1, 3 * indexChunk, full.Size} {
		v := full.Prefix(n)
		if err := ix.CatchUp(v); err != nil {
			t.Fatal(err)
		}
		if ix.Size() != n {
			t.Fatalf("indexed %d events, log has %d", ix.Size(), n)
		}
		for range 20 {
			f := randomFilter(rng, evs[:n])
			if got, want := all(t, v, ix, f), brute(t, v, f); !slices.Equal(got, want) {
				t.Fatalf("after %d events, %+v: got %v, want %v", n, f, got, want)
			}
		}
	}
	// An older view leaves the index alone and is still answered correctly (by the index
	// bounded to that view).
	old := full.Prefix(100)
	if err := ix.CatchUp(old); err != nil || ix.Size() != full.Size {
		t.Fatalf("catching up with an older view: size %d, %v", ix.Size(), err)
	}
	f := audit.Filter{Patient: "p1", Limit: audit.MaxLimit}
	if got, want := all(t, old, ix, f), brute(t, old, f); !slices.Equal(got, want) {
		t.Fatalf("older view: got %v, want %v", got, want)
	}

	// Reopened, the index keeps what it had: catching up reads only the last indexed event,
	// to check it is the same log.
	ix.Close()
	ix = openIndex(t, dir)
	if ix.Size() != full.Size {
		t.Fatalf("reopened index holds %d events, want %d", ix.Size(), full.Size)
	}
	full.Reads.Store(0)
	if err := ix.CatchUp(full); err != nil {
		t.Fatal(err)
	}
	if r := full.Reads.Load(); r != 1 {
		t.Fatalf("catching up a complete index read %d leaves", r)
	}
}

func TestIndexRebuildsForAnotherLog(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	a, b := audittest.LogOf(audittest.GenEvents(rng, 400)), audittest.LogOf(audittest.GenEvents(rng, 400))
	for name, other := range map[string]audittest.MemLog{"same length": b, "shorter": b.Prefix(100)} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ix := openIndex(t, dir)
			if err := ix.CatchUp(a); err != nil {
				t.Fatal(err)
			}
			ix.Close()
			ix = openIndex(t, dir)
			if err := ix.CatchUp(other); err != nil {
				t.Fatal(err)
			}
			if ix.Size() != other.Size {
				t.Fatalf("index holds %d events, the log %d", ix.Size(), other.Size)
			}
			for _, f := range []audit.Filter{{Patient: "p2"}, {Actor: "a1", Outcome: audit.Denied}, {Action: "identity.*"}} {
				f.Limit = audit.MaxLimit
				if got, want := all(t, other, ix, f), brute(t, other, f); !slices.Equal(got, want) {
					t.Fatalf("%+v: got %v, want %v", f, got, want)
				}
			}
		})
	}
}

func TestIndexConcurrentReadersAndCatchUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	evs := audittest.GenEvents(rng, 2*indexChunk)
	full := audittest.LogOf(evs)
	ix := openIndex(t, t.TempDir())
	var committed atomic.Uint64 // the "committed" log size, growing while readers query
	committed.Store(1)
	filters := make([]audit.Filter, 40)
	for i := range filters {
		filters[i] = randomFilter(rng, evs)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := r; k < 200; k += 4 {
				v := full.Prefix(committed.Load())
				f := filters[k%len(filters)]
				f.Limit, f.Cursor = audit.MaxLimit, ""
				p, err := audit.Query(v, ix, f)
				if err != nil {
					errs <- err.Error()
					return
				}
				var got []uint64
				for _, e := range p.Events {
					got = append(got, e.Index)
				}
				want := brute(t, v, f)
				if len(want) > audit.MaxLimit {
					want = want[:audit.MaxLimit]
				}
				if !slices.Equal(got, want) {
					errs <- fmt.Sprintf("log of %d, %+v: got %d events, want %d", v.Size, f, len(got), len(want))
					return
				}
			}
		}()
	}
	for n := uint64(1); n <= full.Size; n += 97 {
		committed.Store(n)
		if err := ix.CatchUp(full.Prefix(n)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestIndexFollowAndClose(t *testing.T) {
	v := audittest.LogOf(audittest.GenEvents(rand.New(rand.NewPCG(15, 16)), 100))
	ix, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	caught := make(chan struct{})
	var once sync.Once
	ix.Follow(func() audit.LogView {
		if ix.Size() == v.Size {
			once.Do(func() { close(caught) })
		}
		return v
	}, time.Millisecond, t.Logf)
	<-caught
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	// A closed index is not used: queries scan.
	f := audit.Filter{Patient: "p1"}
	if got, want := all(t, v, ix, f), brute(t, v, f); !slices.Equal(got, want) {
		t.Fatalf("closed index: got %v, want %v", got, want)
	}
}
