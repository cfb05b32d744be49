package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/state"
)

// GrowthOptions configure a growth run: one node fills with record writes, and at each
// size in Sizes the write throughput and the read latency are measured again.
type GrowthOptions struct {
	Options
	Sizes []int `json:"sizes"` // ledger sizes in records, increasing; default 10^4, 10^5
	// Probe is how many writes and reads are measured at each size; default 10,000.
	Probe int `json:"probe"`
	// Chunk bounds how many writes are prepared at once while filling (memory); default 50,000.
	Chunk int `json:"chunk"`
	// Repeat is how many times each probe runs at each size (default 1): a point reports
	// the run of median rate, since one probe's rate spreads widely on a shared machine.
	Repeat int `json:"repeat"`
}

// GrowthReport is the outcome of a growth run.
type GrowthReport struct {
	Machine Machine       `json:"machine"`
	Options GrowthOptions `json:"options"`
	Points  []GrowthPoint `json:"points"`
	// Fill is every batch of writes in order, the probes included: write throughput against
	// the ledger's size at a finer grain than the points.
	Fill []FillBatch `json:"fill"`
}

// GrowthPoint is what was measured when the ledger held Records records.
type GrowthPoint struct {
	Records int    `json:"records"`
	Write   Result `json:"write"`
	Read    Result `json:"read"`
	// DiskBytes is the node's home on disk before the probe; DiskBytesPerRecord divides it
	// by Records.
	DiskBytes          int64   `json:"disk_bytes"`
	DiskBytesPerRecord float64 `json:"disk_bytes_per_record"`
	// DiskParts splits DiskBytes by directory (app/state.db, data/blockstore.db, ...).
	DiskParts map[string]int64 `json:"disk_parts"`
	// ReadSettleSeconds is how long the state database took to finish compacting what the
	// writes before left it, before the reads were measured (repeated: the longest wait).
	ReadSettleSeconds float64 `json:"read_settle_s"`
	// StateWriteAmp is the state database's write amplification up to this point, its
	// memtable flushed: bytes written to tables (flushes, compactions) per byte committed.
	// Releases before the state database lost its write-ahead log counted the log too
	// (about 1 more).
	StateWriteAmp float64 `json:"state_write_amp"`
	// WriteCompactions and ReadCompactions count the state database's compactions that
	// finished while the write probes ran and while the read probes (with their settling)
	// ran.
	WriteCompactions state.Compactions `json:"write_compactions"`
	ReadCompactions  state.Compactions `json:"read_compactions"`
	// WriteRates and ReadRates are every repeated probe's rate, in the order they ran;
	// Write and Read are the runs of median rate.
	WriteRates []float64 `json:"write_rates,omitempty"`
	ReadRates  []float64 `json:"read_rates,omitempty"`
}

// settleQuiet is how long the state database must have been neither flushing nor compacting
// before reads are measured; settleMax bounds the wait.
const (
	settleQuiet = time.Second
	settleMax   = 10 * time.Minute
)

// settle waits until busy has been false for settleQuiet. Reads write little; without the
// wait, a read probe right after a million writes paid mostly for compacting them (the
// writes' cost, which the write figures carry).
func settle(ctx context.Context, busy func() bool) error {
	deadline := time.Now().Add(settleMax)
	quietSince := time.Now()
	for {
		if busy() {
			quietSince = time.Now()
		} else if time.Since(quietSince) >= settleQuiet {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the state database was still compacting after %s", settleMax)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// FillBatch is one batch of writes and the ledger size it started at.
type FillBatch struct {
	From       int     `json:"from"`
	Writes     int     `json:"writes"`
	TxPerSec   float64 `json:"tx_per_s"`
	CPUPerTxUS float64 `json:"cpu_us_per_tx"`
	P99MS      float64 `json:"p99_ms"`
}

// Growth fills a fresh node with encrypted record writes up to each size in o.Sizes and
// measures, at each, Probe more writes and Probe audited reads of records chosen at random
// among all those written, so that a slowdown with size shows.
func Growth(ctx context.Context, o GrowthOptions, progress io.Writer) (rep *GrowthReport, err error) {
	o.Options.setDefaults()
	if len(o.Sizes) == 0 {
		o.Sizes = []int{10_000, 100_000}
	}
	if !slices.IsSorted(o.Sizes) || o.Sizes[0] < 1 {
		return nil, fmt.Errorf("growth sizes must be positive and increasing, got %v", o.Sizes)
	}
	if o.Probe <= 0 {
		o.Probe = 10_000
	}
	if o.Chunk <= 0 {
		o.Chunk = 50_000
	}
	if o.Repeat <= 0 {
		o.Repeat = 1
	}
	if progress == nil {
		progress = io.Discard
	}
	r, stop, err := startRunner(&o.Options, progress)
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	rep = &GrowthReport{Machine: thisMachine(), Options: o}

	p := o.Actors
	c, err := newCast("growth", r.n.ChainID(), r.reg, app.NextSequence(r.n.View(), r.reg.ID), p, "general")
	if err != nil {
		return nil, err
	}
	grants, err := c.readGrants("general", 1)
	if err != nil {
		return nil, err
	}
	if err := r.setup(ctx, &workload{name: "growth", setup: append(c.setup, grants)}); err != nil {
		return nil, err
	}
	next := make([]uint64, p) // each provider's next sequence
	for i := range next {
		next[i] = 1
	}
	ids := make([][]string, p)
	written := 0
	// write commits n more records and returns their figures, with a CPU profile if
	// profile and one was asked for.
	write := func(n int, label string, profile bool) (*Result, error) {
		counts := spread(n, p)
		streams, newIDs, err := c.writes(counts, next)
		if err != nil {
			return nil, err
		}
		w := &workload{name: label, streams: streams, txs: n, noDisk: true}
		w.count()
		measure := r.measure
		if profile { // the first probe at each size, so that sizes can be compared
			measure = r.profiled
		}
		res, err := measure(ctx, w)
		if err != nil {
			return nil, err
		}
		if res.Committed != n {
			return nil, fmt.Errorf("%s: %d of %d writes committed (first rejection: %s)", label, res.Committed, n, res.FirstRejection)
		}
		for i := range p {
			next[i] += uint64(counts[i])
			ids[i] = append(ids[i], newIDs[i]...)
		}
		rep.Fill = append(rep.Fill, FillBatch{From: written, Writes: n, TxPerSec: res.TxPerSec, CPUPerTxUS: res.CPUPerTxUS, P99MS: res.P99MS})
		written += n
		return &res.Result, nil
	}
	for _, size := range o.Sizes {
		for written < size {
			// The last batch before each size is profiled too (fill@<size>): it pays for the
			// compactions of the batches before it as a steady load does, where a probe
			// after the flush below pays for what the whole fill left.
			n, label := min(o.Chunk, size-written), "fill"
			last := written+n == size
			if last {
				label = fmt.Sprintf("fill@%d", size)
			}
			if _, err := write(n, label, last); err != nil {
				return nil, err
			}
		}
		if err := r.n.FlushState(); err != nil { // the files alone then hold the state
			return nil, err
		}
		pt := GrowthPoint{Records: written, DiskParts: diskParts(r.dir), StateWriteAmp: r.n.StateWriteAmp()}
		for _, n := range pt.DiskParts {
			pt.DiskBytes += n
		}
		pt.DiskBytesPerRecord = float64(pt.DiskBytes) / float64(written)
		fmt.Fprintf(progress, "growth: %d records, %.0f bytes on disk per record:", written, pt.DiskBytesPerRecord)
		for _, k := range slices.Sorted(maps.Keys(pt.DiskParts)) {
			fmt.Fprintf(progress, " %s %.0f", k, float64(pt.DiskParts[k])/float64(written))
		}
		fmt.Fprintf(progress, "; state database write amplification %.1f\n", pt.StateWriteAmp)
		var writes, reads []Result
		c0 := r.n.StateCompactions()
		for k := range o.Repeat {
			res, err := write(o.Probe, probeName("write", size, k), k == 0)
			if err != nil {
				return nil, err
			}
			writes = append(writes, *res)
		}
		c1 := r.n.StateCompactions()
		pt.WriteCompactions = c1.Since(c0)
		for k := range o.Repeat {
			rs := randomReads(c, ids, o.Probe)
			w := &workload{name: probeName("read", size, k), reads: rs, readers: c.providers, txs: len(rs), noDisk: true}
			if err := r.setupReads(ctx, w); err != nil {
				return nil, err
			}
			settled := time.Now()
			if err := settle(ctx, r.n.StateCompacting); err != nil {
				return nil, err
			}
			pt.ReadSettleSeconds = max(pt.ReadSettleSeconds, time.Since(settled).Seconds())
			measure := r.measure
			if k == 0 {
				measure = r.profiled
			}
			rr, err := measure(ctx, w)
			if err != nil {
				return nil, err
			}
			reads = append(reads, rr.Result)
		}
		pt.ReadCompactions = r.n.StateCompactions().Since(c1)
		pt.Write, pt.WriteRates = medianRun(writes)
		pt.Read, pt.ReadRates = medianRun(reads)
		if o.Repeat == 1 {
			pt.WriteRates, pt.ReadRates = nil, nil
		}
		rep.Points = append(rep.Points, pt)
	}
	return rep, nil
}

// randomReads asks n reads of records drawn uniformly from everything written, each by the
// grantee of the record's patient, so that reads reach the whole state, not a hot corner.
func randomReads(c *cast, ids [][]string, n int) []*records.ReadRequest {
	out := make([]*records.ReadRequest, n)
	for k := range out {
		i := rand.IntN(len(ids))
		out[k] = &records.ReadRequest{ChainID: c.chainID, Requester: c.grantee(i).ID, Patient: c.patients[i].ID,
			Record: ids[i][rand.IntN(len(ids[i]))], Purpose: consent.Treatment}
	}
	return out
}

// probeName names the k-th run of a probe: write@10000, then write@10000#2, ...
func probeName(kind string, size, k int) string {
	if k == 0 {
		return fmt.Sprintf("%s@%d", kind, size)
	}
	return fmt.Sprintf("%s@%d#%d", kind, size, k+1)
}

// medianRun is the run of median rate (the lower middle one of an even count) and every
// run's rate in order.
func medianRun(runs []Result) (Result, []float64) {
	rates := make([]float64, len(runs))
	for i, r := range runs {
		rates[i] = r.TxPerSec
	}
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rates[a], rates[b]) })
	return runs[order[(len(runs)-1)/2]], rates
}
