package bench

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"
)

// growthT runs a growth benchmark on a real node, failing the test with its progress output
// if it fails.
func growthT(t *testing.T, o GrowthOptions) *GrowthReport {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Growth(ctx, o, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	return rep
}

// TestGrowthSmall fills a real node to two small sizes and checks that every write
// committed, every read decrypted, and the table and plot come out. Nothing about speed.
func TestGrowthSmall(t *testing.T) {
	rep := growthT(t, GrowthOptions{Options: Options{Actors: 4, Concurrency: 4, BlockMS: 50}, Sizes: []int{120, 300}, Probe: 40, Chunk: 100})
	if len(rep.Points) != 2 {
		t.Fatalf("%d points, want 2", len(rep.Points))
	}
	// 120 filled, +40 probe = 160, then 100 + 40 fill to 300, +40 probe.
	wantFrom := []int{0, 100, 120, 160, 260, 300}
	if len(rep.Fill) != len(wantFrom) {
		t.Fatalf("fill batches %+v, want starts %v", rep.Fill, wantFrom)
	}
	for i, b := range rep.Fill {
		if b.From != wantFrom[i] || b.TxPerSec <= 0 {
			t.Errorf("batch %d: %+v, want it to start at %d with a rate", i, b, wantFrom[i])
		}
	}
	for i, pt := range rep.Points {
		if want := []int{120, 300}[i]; pt.Records != want {
			t.Errorf("point %d at %d records, want %d", i, pt.Records, want)
		}
		if pt.Write.Committed != 40 || pt.Read.Committed != 40 || pt.Read.Rejected != 0 {
			t.Errorf("point %d: writes %d reads %d (rejected %d: %s)", i, pt.Write.Committed, pt.Read.Committed, pt.Read.Rejected, pt.Read.FirstRejection)
		}
		if pt.DiskBytesPerRecord <= 0 || pt.Read.P50MS <= 0 {
			t.Errorf("point %d lacks figures: %+v", i, pt)
		}
		if pt.DiskParts["app/state.db"] <= 0 || pt.DiskParts["data/blockstore.db"] <= 0 {
			t.Errorf("point %d: disk parts %v lack the state or the block store", i, pt.DiskParts)
		}
		if pt.StateWriteAmp <= 0 { // flushed at the point: the tables hold what was committed
			t.Errorf("point %d: state write amplification %.2f, want above 0", i, pt.StateWriteAmp)
		}
	}
	if rep.Points[1].DiskBytes <= rep.Points[0].DiskBytes {
		t.Errorf("the ledger did not grow on disk: %d then %d bytes", rep.Points[0].DiskBytes, rep.Points[1].DiskBytes)
	}
	var table, img bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "| 300 |") {
		t.Errorf("table lacks the 300-record row:\n%s", table.String())
	}
	if err := rep.WritePNG(&img); err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(&img)
	if err != nil || cfg.Width < 800 || cfg.Height < 300 {
		t.Fatalf("plot: %v %+v", err, cfg)
	}
}

func TestGrowthRejectsBadSizes(t *testing.T) {
	for _, sizes := range [][]int{{100, 10}, {0, 10}} {
		if _, err := Growth(context.Background(), GrowthOptions{Sizes: sizes}, nil); err == nil || !strings.Contains(err.Error(), "increasing") {
			t.Errorf("sizes %v: err = %v", sizes, err)
		}
	}
}

// settle returns only once the database has stopped compacting, and gives up with the
// caller's context.
func TestSettleWaitsForCompactionsToEnd(t *testing.T) {
	calls := 0
	busy := func() bool { calls++; return calls <= 5 }
	if err := settle(context.Background(), busy); err != nil {
		t.Fatal(err)
	}
	if calls <= 5 {
		t.Fatalf("settle returned after %d looks, while the database was still compacting", calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := settle(ctx, func() bool { return true }); err == nil {
		t.Fatal("settle returned no error for a database that never stopped compacting and a cancelled context")
	}
}

// TestGrowthRepeatsProbes: with Repeat, each probe runs that many times at each size (every
// run committed and counted in the fill), and the point is the run of median rate.
func TestGrowthRepeatsProbes(t *testing.T) {
	rep := growthT(t, GrowthOptions{Options: Options{Actors: 4, Concurrency: 4, BlockMS: 50}, Sizes: []int{100}, Probe: 30, Chunk: 100, Repeat: 3})
	pt := rep.Points[0]
	if len(pt.WriteRates) != 3 || len(pt.ReadRates) != 3 {
		t.Fatalf("rates %v and %v, want three runs each", pt.WriteRates, pt.ReadRates)
	}
	if pt.Write.Committed != 30 || pt.Read.Committed != 30 || pt.Read.Rejected != 0 {
		t.Fatalf("median runs: writes %d reads %d (rejected %d)", pt.Write.Committed, pt.Read.Committed, pt.Read.Rejected)
	}
	if pt.Write.TxPerSec != median(pt.WriteRates) || pt.Read.TxPerSec != median(pt.ReadRates) {
		t.Fatalf("point rates %.0f and %.0f are not the medians of %v and %v", pt.Write.TxPerSec, pt.Read.TxPerSec, pt.WriteRates, pt.ReadRates)
	}
	if n := len(rep.Fill); n != 4 || rep.Fill[n-1].From != 160 {
		t.Fatalf("fill batches %+v: want the fill and three probes of 30, the last from 160", rep.Fill)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// TestMedianRun: the run of median rate, the lower middle one of an even count.
func TestMedianRun(t *testing.T) {
	runs := func(rates ...float64) []Result {
		var out []Result
		for _, r := range rates {
			out = append(out, Result{TxPerSec: r, Workload: fmt.Sprint(r)})
		}
		return out
	}
	for _, c := range []struct {
		rates []float64
		want  string
	}{{[]float64{5, 1, 3}, "3"}, {[]float64{4, 1, 3, 2}, "2"}, {[]float64{7}, "7"}} {
		got, rates := medianRun(runs(c.rates...))
		if got.Workload != c.want || !slices.Equal(rates, c.rates) {
			t.Errorf("%v: run %s, rates %v; want run %s", c.rates, got.Workload, rates, c.want)
		}
	}
}
