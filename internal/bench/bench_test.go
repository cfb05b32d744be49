package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRunSmallWorkloads runs both workloads on a real node and checks that the report adds
// up. It asserts nothing about speed.
func TestRunSmallWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	profiles := map[string]*bytes.Buffer{}
	profile := func(workload string) (io.WriteCloser, error) {
		profiles[workload] = &bytes.Buffer{}
		return nopCloser{profiles[workload]}, nil
	}
	rep, err := Run(ctx, Options{Workloads: Workloads, Txs: 200, Actors: 8,
		Concurrency: 4, Window: 50, BlockMS: 50, CPUProfile: profile}, &progress)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	if len(rep.Results) != len(Workloads) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(Workloads))
	}
	for i, name := range Workloads {
		r := rep.Results[i]
		if r.Workload != name {
			t.Fatalf("result %d is %q, want %q", i, r.Workload, name)
		}
		if r.Txs != 200 || r.Committed != r.Txs || r.Rejected != 0 || r.FirstRejection != "" {
			t.Errorf("%s: txs %d committed %d rejected %d (%s)", name, r.Txs, r.Committed, r.Rejected, r.FirstRejection)
		}
		if !(0 < r.P50MS && r.P50MS <= r.P95MS && r.P95MS <= r.P99MS && r.P99MS <= r.MaxMS) {
			t.Errorf("%s: percentiles out of order: p50 %v p95 %v p99 %v max %v", name, r.P50MS, r.P95MS, r.P99MS, r.MaxMS)
		}
		if r.WallSeconds <= 0 || r.TxPerSec <= 0 || r.CPUSeconds <= 0 || r.PeakRSSBytes <= 0 || r.MeanTxBytes <= 0 || r.CPUPerTxUS <= 0 {
			t.Errorf("%s: missing figures: %+v", name, r)
		}
		if r.Blocks < 1 || r.MaxBlockTxs < 1 || r.MaxBlockTxs > r.Txs || r.Blocks > r.Txs {
			t.Errorf("%s: %d blocks, at most %d transactions each", name, r.Blocks, r.MaxBlockTxs)
		}
		want := 4 // submitters
		switch name {
		case Read, ReadNode:
			want = 50 // reads in flight: the window
		case Mixed:
			want = 4 + 50
		}
		if r.Concurrency != want {
			t.Errorf("%s: concurrency %d, want %d", name, r.Concurrency, want)
		}
		// A compaction during a small run can leave the home smaller than before it, so only
		// the record write (4 KB of new ciphertext and keys per operation) must show growth;
		// every workload must have been measured.
		if r.DiskBytesPerOp == 0 || math.IsNaN(r.DiskBytesPerOp) || (name == Write && r.DiskBytesPerOp <= 0) {
			t.Errorf("%s: the node's home growth was not measured or did not grow (%v bytes per operation)", name, r.DiskBytesPerOp)
		}
		if name != Mixed {
			if len(r.Parts) != 0 && name != Supply { // supply's parts: supply_test.go
				t.Errorf("%s: parts %+v for a workload of one kind", name, r.Parts)
			}
			continue
		}
		// 80 % reads, 4 % grants and revocations, the rest writes; all of them done.
		got := map[string]int{}
		for _, p := range r.Parts {
			got[p.Kind] = p.Committed
			if p.Committed > 0 && !(0 < p.P50MS && p.P50MS <= p.P99MS && p.P99MS <= p.MaxMS) {
				t.Errorf("mixed %s: percentiles out of order: %+v", p.Kind, p)
			}
		}
		if want := map[string]int{Read: 160, Write: 32, GrantRevoke: 8}; !maps.Equal(got, want) {
			t.Errorf("mixed parts %v, want %v", got, want)
		}
	}
	for _, name := range Workloads {
		if profiles[name] == nil || profiles[name].Len() == 0 {
			t.Errorf("no CPU profile written for %s", name)
		}
	}
	byName := map[string]Result{}
	for _, r := range rep.Results {
		byName[r.Workload] = r
	}
	if rep.Results[0].Ratio != nil {
		t.Error("the baseline has a ratio to itself")
	}
	reg := byName[Register]
	if ratio := reg.Ratio; ratio == nil || *ratio <= 0 {
		t.Errorf("register ratio to baseline = %v, want a positive number", ratio)
	} else if want := reg.TxPerSec / rep.Results[0].TxPerSec; *ratio != want {
		t.Errorf("register ratio %v, want %v", *ratio, want)
	}
	// The padded baselines carry the bytes of the operation they stand for (a write's
	// record id is random and its JSON fields vary by a few bytes), and the write and read
	// are compared with them.
	for op, base := range sameSize {
		o, b := byName[op], byName[base]
		if d := o.MeanTxBytes - b.MeanTxBytes; d < -8 || d > 8 || b.MeanTxBytes <= byName[Baseline].MeanTxBytes {
			t.Errorf("%s is %d bytes a transaction, %s %d (the plain baseline %d)", base, b.MeanTxBytes, op, o.MeanTxBytes, byName[Baseline].MeanTxBytes)
		}
		if o.SameSizeRatio == nil || *o.SameSizeRatio != o.TxPerSec/b.TxPerSec || o.SameSizeCPU == nil || *o.SameSizeCPU <= 0 {
			t.Errorf("%s: ratio to %s %v, CPU ratio %v", op, base, o.SameSizeRatio, o.SameSizeCPU)
		}
	}
	if rep.Options.Window != 50 || rep.Options.BlockMS != 50 || rep.Options.Mempool <= 0 {
		t.Errorf("options not reported as used: %+v", rep.Options)
	}
	if !strings.Contains(progress.String(), "register: preparing 200 transactions") {
		t.Errorf("progress lacks the preparation lines:\n%s", progress.String())
	}

	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"baseline", "register", "tx/s", "p99 ms"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Results) != len(Workloads) || back.Results[3].Ratio == nil {
		t.Fatalf("JSON round trip: %v %s", err, b)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func TestRunRejectsUnknownWorkload(t *testing.T) {
	if _, err := Run(context.Background(), Options{Workloads: []string{"nope"}}, nil); err == nil ||
		!strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown workload: err = %v", err)
	}
}

// TestQueuesKeepStreamOrder checks that dealing streams to submitters keeps each stream's
// transactions in order and loses none.
func TestQueuesKeepStreamOrder(t *testing.T) {
	w := &workload{}
	for s := range 5 {
		var stream [][]byte
		for k := range s + 1 {
			stream = append(stream, []byte{byte(s), byte(k)})
		}
		w.streams = append(w.streams, stream)
	}
	for _, c := range []int{1, 2, 3, 5, 9} {
		qs := w.queues(c)
		if len(qs) != min(c, 5) {
			t.Fatalf("c=%d: %d queues", c, len(qs))
		}
		next := map[byte]byte{}
		total := 0
		for _, q := range qs {
			for _, it := range q {
				raw := it.raw
				if raw[1] != next[raw[0]] {
					t.Fatalf("c=%d: stream %d item %d out of order", c, raw[0], raw[1])
				}
				next[raw[0]]++
				total++
			}
		}
		if total != 15 {
			t.Fatalf("c=%d: %d transactions queued, want 15", c, total)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {95, 95}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("empty: %v", got)
	}
	if got := percentile(slices.Clone(d[:1]), 99); got != 1 {
		t.Errorf("one sample: %v", got)
	}
}

// TestDurationStopsSubmitting offers 1,000 no-ops at 100/s for one second: the run stops
// submitting after the second, waits for what it sent, and rejects nothing.
func TestDurationStopsSubmitting(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Workloads: []string{Baseline}, Txs: 1000, Actors: 4, Concurrency: 4,
		Rate: 100, Duration: time.Second, BlockMS: 50}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	if r.Committed == 0 || r.Committed >= r.Txs || r.Rejected != 0 {
		t.Fatalf("committed %d of %d prepared, rejected %d: want the duration to cut the run short", r.Committed, r.Txs, r.Rejected)
	}
}

// TestFreshRunsEachWorkloadOnItsOwnNode: with Fresh, every workload gets a node of its own
// and still commits everything it prepared (none relies on what an earlier one wrote).
func TestFreshRunsEachWorkloadOnItsOwnNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	names := []string{Write, ReadNode, BaselineWrite}
	for _, fresh := range []bool{false, true} {
		var progress bytes.Buffer
		rep, err := Run(ctx, Options{Workloads: names, Txs: 100, Actors: 4, Concurrency: 4, Window: 50, BlockMS: 50, Fresh: fresh}, &progress)
		if err != nil {
			t.Fatalf("fresh=%v: %v\nprogress:\n%s", fresh, err, progress.String())
		}
		want := 1
		if fresh {
			want = len(names)
		}
		if got := strings.Count(progress.String(), "starting a node for "); got != want {
			t.Errorf("fresh=%v: %d nodes started, want %d", fresh, got, want)
		}
		for _, r := range rep.Results {
			if r.Committed != r.Txs || r.Rejected != 0 {
				t.Errorf("fresh=%v: %s committed %d of %d (%s)", fresh, r.Workload, r.Committed, r.Txs, r.FirstRejection)
			}
		}
		if w := rep.Results[0]; w.SameSizeRatio == nil || w.SameSizeCPU == nil {
			t.Errorf("fresh=%v: write has no ratio to its same-size baseline", fresh)
		}
	}
}
