// Package bench measures end-to-end throughput and latency of a real node: a fresh
// single-validator chain (CometBFT and the application in one process, as `ehrchain start`
// runs them) receives pre-signed transactions through Node.Broadcast and the harness times
// each from submission to the commit of its block.
//
// Workloads run one after another against the same node, so their ratios are fair even on a
// noisy machine; the absolute figures are not comparable across machines or runs.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ehrchain/ehrchain/internal/admission"
	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Options configure a run. Zero values take the defaults shown.
type Options struct {
	Workloads   []string `json:"workloads"`   // default: Workloads
	Txs         int      `json:"txs"`         // transactions per workload; default 20,000
	Actors      int      `json:"actors"`      // baseline signers; default 64
	Concurrency int      `json:"concurrency"` // goroutines submitting; default 64
	// Window caps the transactions submitted but not yet committed (the closed loop); a
	// submitter waits for a commit to free a slot. Default 10,000, never above the mempool.
	Window int `json:"window"`
	// Rate, if set, submits open-loop at this many transactions a second in total, and
	// latency counts from each transaction's scheduled time.
	Rate float64 `json:"rate,omitempty"`
	// Duration, if set, stops submitting (and reading) that long after a workload's timed
	// phase began; what was submitted is still waited for. With Rate and no Txs, a workload
	// prepares Rate × Duration operations.
	Duration time.Duration `json:"duration,omitempty"`
	BlockMS  int           `json:"block_ms"` // pause after each commit; default 200
	Mempool  int           `json:"mempool"`  // mempool capacity in transactions; default the node's
	// Pruning, if set, runs the node with this pruning and SnapshotInterval (default the
	// node's) so that blocks below a snapshot go.
	Pruning          *node.PruningConfig `json:"pruning,omitempty"`
	SnapshotInterval int64               `json:"snapshot_interval,omitempty"`
	// Validators > 1 runs a network of that many validators in-process (see start).
	Validators int `json:"validators,omitempty"`
	// Fresh runs each workload on its own new node instead of all on one. On one node a
	// workload pays for the compactions of what earlier workloads wrote (which can move a
	// ratio between two workloads by a third, depending on their order); on fresh nodes
	// each pays only for its own.
	Fresh bool `json:"fresh,omitempty"`
	// NoBudgets creates the chain without admission budgets, to measure what they cost.
	NoBudgets bool `json:"no_budgets,omitempty"`
	// Stall aborts a workload when nothing commits or fails for this long; default 60 s.
	Stall time.Duration `json:"-"`
	// CPUProfile, if set, opens the destination of each workload's CPU profile, which
	// covers the timed phase only (not key generation and signing).
	CPUProfile func(workload string) (io.WriteCloser, error) `json:"-"`
	// MemProfile, if set, opens the destination of a heap profile written at the end of
	// each workload's timed phase (what is live then, and what was allocated).
	MemProfile func(workload string) (io.WriteCloser, error) `json:"-"`
}

// DefaultWindow is the closed-loop window when Options.Window is zero.
const DefaultWindow = 10_000

func (o *Options) setDefaults() {
	if len(o.Workloads) == 0 {
		o.Workloads = slices.Clone(Workloads)
	}
	if o.Txs <= 0 {
		o.Txs = 20_000
		if o.Rate > 0 && o.Duration > 0 {
			o.Txs = max(1, int(o.Rate*o.Duration.Seconds()))
		}
	}
	if o.Actors <= 0 {
		o.Actors = 64
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.BlockMS <= 0 {
		o.BlockMS = 200
	}
	if o.Stall <= 0 {
		o.Stall = 60 * time.Second
	}
}

// Report is the outcome of a run.
type Report struct {
	Machine Machine  `json:"machine"`
	Options Options  `json:"options"`
	Results []Result `json:"results"`
	// PeakRSSPerWorkload is false when the kernel refused to reset the high-water mark:
	// each peak then covers the process from its start.
	PeakRSSPerWorkload bool `json:"peak_rss_per_workload"`
}

// Result is one workload's figures. Latency is from submission to the commit of the
// transaction's block, over the transactions that committed successfully.
type Result struct {
	Workload       string   `json:"workload"`
	Txs            int      `json:"txs"`
	MeanTxBytes    int      `json:"mean_tx_bytes"`
	Committed      int      `json:"committed"` // committed with code 0
	Rejected       int      `json:"rejected"`  // refused by the mempool, CheckTx or the block
	FirstRejection string   `json:"first_rejection,omitempty"`
	Concurrency    int      `json:"concurrency"` // submitters actually used
	WallSeconds    float64  `json:"wall_s"`
	TxPerSec       float64  `json:"tx_per_s"` // committed / wall
	Ratio          *float64 `json:"ratio_to_baseline,omitempty"`
	// SameSizeRatio is the rate as a ratio to the padded baseline of the same size
	// (baseline-write for write, baseline-read for read), when both ran.
	SameSizeRatio *float64 `json:"ratio_to_same_size,omitempty"`
	// SameSizeCPU is CPU µs per operation as a ratio to that baseline's.
	SameSizeCPU  *float64 `json:"cpu_ratio_to_same_size,omitempty"`
	P50MS        float64  `json:"p50_ms"`
	P95MS        float64  `json:"p95_ms"`
	P99MS        float64  `json:"p99_ms"`
	MaxMS        float64  `json:"max_ms"`
	Blocks       int      `json:"blocks"`
	MaxBlockTxs  int      `json:"max_block_txs"`
	PeakRSSBytes int64    `json:"peak_rss_bytes"`
	CPUSeconds   float64  `json:"cpu_s"` // user+system of the whole process during the workload
	// CPUPerTx is CPUSeconds per committed transaction in µs: on a shared machine it moves
	// less than the wall-clock figures do.
	CPUPerTxUS float64 `json:"cpu_us_per_tx"`
	// EventsPerTx, EventsPerSec and CPUPerEventUS are a capture workload's figures per
	// EPCIS event (each transaction a document of EventsPerTx events).
	EventsPerTx   int     `json:"events_per_tx,omitempty"`
	EventsPerSec  float64 `json:"events_per_s,omitempty"`
	CPUPerEventUS float64 `json:"cpu_us_per_event,omitempty"`
	// DiskBytesPerOp is how much the node's home grew per committed operation (state,
	// audit log, indexes and blocks; compaction makes it approximate).
	DiskBytesPerOp float64 `json:"disk_bytes_per_op"`
	Parts          []Part  `json:"parts,omitempty"` // per kind of operation, for mixed workloads
	// RSS samples the resident set every RSSEvery of the timed phase: a soak run
	// (--duration) shows whether memory levels off.
	RSS []RSSSample `json:"rss,omitempty"`
}

// RSSSample is the process's resident set at a moment of a workload's timed phase.
type RSSSample struct {
	Seconds float64 `json:"s"`
	Bytes   int64   `json:"bytes"`
	// LiveHeap is the Go heap the last garbage collection found live: unlike RSS it does
	// not keep counting memory the process grew once and freed.
	LiveHeap int64 `json:"live_heap_bytes"`
}

// RSSEvery is how often a workload samples its resident set.
const RSSEvery = 10 * time.Second

// Part is the figures of one kind of operation within a mixed workload.
type Part struct {
	Kind      string  `json:"kind"`
	Committed int     `json:"committed"`
	PerSec    float64 `json:"per_s"`
	P50MS     float64 `json:"p50_ms"`
	P95MS     float64 `json:"p95_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
}

// Run starts a fresh node in a temporary directory, runs the workloads against it one after
// another (with Fresh, each on a node of its own), and removes the node again. progress
// receives a line a second (nil: none).
func Run(ctx context.Context, o Options, progress io.Writer) (rep *Report, err error) {
	o.setDefaults()
	if progress == nil {
		progress = io.Discard
	}
	for _, w := range o.Workloads {
		if !slices.Contains(Workloads, w) {
			return nil, fmt.Errorf("unknown workload %q (known: %v)", w, Workloads)
		}
	}
	if o.Rate < 0 {
		return nil, fmt.Errorf("rate must not be negative")
	}
	rep = &Report{Machine: thisMachine(), PeakRSSPerWorkload: true}
	groups := [][]string{o.Workloads}
	if o.Fresh {
		groups = groups[:0]
		for _, name := range o.Workloads {
			groups = append(groups, []string{name})
		}
	}
	for _, names := range groups {
		if err := runOn(ctx, &o, names, rep, progress); err != nil {
			return nil, err
		}
	}
	rep.Options = o // as the nodes settled it (window, mempool)
	var base float64
	for _, res := range rep.Results {
		if res.Workload == Baseline {
			base = res.TxPerSec
		}
	}
	if base > 0 {
		for i := range rep.Results {
			if rep.Results[i].Workload != Baseline {
				ratio := rep.Results[i].TxPerSec / base
				rep.Results[i].Ratio = &ratio
			}
		}
	}
	for i := range rep.Results {
		res := &rep.Results[i]
		for _, b := range rep.Results {
			if b.Workload == sameSize[res.Workload] && b.TxPerSec > 0 && b.CPUPerTxUS > 0 {
				ratio, cpu := res.TxPerSec/b.TxPerSec, res.CPUPerTxUS/b.CPUPerTxUS
				res.SameSizeRatio, res.SameSizeCPU = &ratio, &cpu
			}
		}
	}
	return rep, nil
}

// runOn runs the named workloads one after another on one fresh node, appending their
// results to rep.
func runOn(ctx context.Context, o *Options, names []string, rep *Report, progress io.Writer) (err error) {
	fmt.Fprintf(progress, "starting a node for %s\n", strings.Join(names, ", "))
	r, stop, err := startRunner(o, progress)
	if err != nil {
		return err
	}
	defer func() {
		if serr := stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	for _, name := range names {
		fmt.Fprintf(progress, "%s: preparing %d transactions\n", name, o.Txs)
		w, err := r.prepare(name)
		if err != nil {
			return err
		}
		if err := r.setup(ctx, w); err != nil {
			return err
		}
		if w.reads != nil {
			if err := r.setupReads(ctx, w); err != nil {
				return err
			}
		}
		res, err := r.profiled(ctx, w)
		if err != nil {
			return fmt.Errorf("workload %s: %w", name, err)
		}
		if w.check != nil {
			if err := w.check(r.n.View()); err != nil {
				return fmt.Errorf("workload %s: %w", name, err)
			}
		}
		if !res.rssReset {
			rep.PeakRSSPerWorkload = false
		}
		rep.Results = append(rep.Results, res.Result)
	}
	return nil
}

// startRunner starts a fresh node in a temporary directory and settles the options that
// depend on it. stop stops the node and removes the directory.
func startRunner(o *Options, progress io.Writer) (*runner, func() error, error) {
	dir, err := os.MkdirTemp("", "ehrchain-bench-")
	if err != nil {
		return nil, nil, err
	}
	n, reg, home, stopNodes, err := start(dir, o)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
		if o.Rate > 0 {
			o.Window = o.Mempool
		}
	}
	o.Window = min(o.Window, o.Mempool)
	stop := func() error {
		defer os.RemoveAll(dir)
		if err := stopNodes(); err != nil {
			return fmt.Errorf("stop node: %w", err)
		}
		return nil
	}
	return &runner{n: n, o: *o, progress: progress, reg: reg, dir: home}, stop, nil
}

// startNode initialises a chain in dir with the requested block delay and mempool and
// starts it quietly on loopback.
func startNode(dir string, o *Options) (*node.Node, *keys.Keystore, error) {
	pass := make([]byte, 24)
	rand.Read(pass)
	if _, err := node.Init(node.InitOptions{Home: dir, ChainID: "bench-1", Passphrase: pass, KDF: keys.TestKDF,
		Params: benchParams(o)}); err != nil {
		return nil, nil, err
	}
	p := node.Paths{Home: dir}
	data, err := keys.Dir{Path: p.Keys()}.Load("registrar")
	if err != nil {
		return nil, nil, err
	}
	reg, err := keys.Decrypt(data, pass)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := node.LoadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	cfg.BlockMS = o.BlockMS
	if o.Mempool > 0 {
		cfg.Mempool = o.Mempool
	}
	o.Mempool = cfg.Mempool
	cfg.Pruning = o.Pruning
	if o.SnapshotInterval > 0 {
		cfg.SnapshotInterval = o.SnapshotInterval
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(p.Config(), append(b, '\n'), 0o644); err != nil {
		return nil, nil, err
	}
	n, err := node.Start(dir, node.Overrides{P2P: "127.0.0.1:0", NoRPC: true, LogLevel: "error"}, io.Discard)
	return n, reg, err
}

type runner struct {
	n        *node.Node
	o        Options
	progress io.Writer
	reg      *keys.Keystore // the chain's registrar, for workloads that register providers
	dir      string         // the node's home
}

// setup commits the workload's setup transactions (untimed): phase after phase, the
// streams of a phase in parallel, each stream in order.
func (r *runner) setup(ctx context.Context, w *workload) error {
	ctx, cancel := context.WithTimeoutCause(ctx, 10*time.Minute, fmt.Errorf("%s: setup did not commit within 10 minutes", w.name))
	defer cancel()
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	go func() { // a node that stopped on a fault would leave the submitters waiting
		select {
		case err := <-r.n.Fatal():
			fail(fmt.Errorf("the node stopped: %w", err))
		case <-ctx.Done():
		}
	}()
	for p, phase := range w.setup {
		fmt.Fprintf(r.progress, "%s: setup phase %d of %d (%d streams)\n", w.name, p+1, len(w.setup), len(phase))
		var wg sync.WaitGroup
		errs := make([]error, len(phase))
		for i, stream := range phase { // streams wait on blocks, not CPU: all at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = r.commitStream(ctx, stream)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return cause
			}
			return err
		}
	}
	return nil
}

// commitStream submits one signer's setup transactions in order without waiting between
// them (their sequences keep them in order in the mempool and the blocks), then waits for
// every one to commit successfully.
func (r *runner) commitStream(ctx context.Context, stream [][]byte) error {
	type sent struct {
		ch   <-chan app.Result
		stop func()
	}
	var all []sent
	defer func() {
		for _, s := range all {
			s.stop()
		}
	}()
	for _, raw := range stream {
		ch, stop := r.n.App.Watch(tx.Hash(raw))
		all = append(all, sent{ch, stop})
		res, err := r.n.Broadcast(ctx, raw, false)
		if err != nil {
			return fmt.Errorf("setup transaction: %w", err)
		}
		if res.Code != 0 {
			return fmt.Errorf("setup transaction refused: %s/%d %s", res.Codespace, res.Code, res.Log)
		}
	}
	for _, s := range all {
		select {
		case res := <-s.ch:
			if res.Code != 0 {
				return fmt.Errorf("setup transaction rejected: %s/%d %s", res.Codespace, res.Code, res.Log)
			}
		case <-ctx.Done():
			return fmt.Errorf("setup transaction: %w", context.Cause(ctx))
		}
	}
	return nil
}

// profiled runs measure under a CPU profile if one was asked for.
func (r *runner) profiled(ctx context.Context, w *workload) (*measured, error) {
	if r.o.CPUProfile == nil {
		res, err := r.measure(ctx, w)
		if err == nil {
			err = r.heapProfile(w)
		}
		return res, err
	}
	f, err := r.o.CPUProfile(w.name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	res, err := r.measure(ctx, w)
	pprof.StopCPUProfile()
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("write CPU profile: %w", cerr)
	}
	if err == nil {
		err = r.heapProfile(w)
	}
	return res, err
}

// heapProfile writes the heap profile of a workload that just ran, if one was asked for.
func (r *runner) heapProfile(w *workload) error {
	if r.o.MemProfile == nil {
		return nil
	}
	f, err := r.o.MemProfile(w.name)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pending is a transaction CheckTx accepted, waiting for its block.
type pending struct {
	ch     <-chan app.Result
	cancel func()
	sent   time.Time
	kind   string
}

// tally is what the submitters, waiters and readers of one workload share.
type tally struct {
	committed, rejected atomic.Int64

	mu       sync.Mutex
	first    string
	lat      map[string][]time.Duration // by kind of operation
	blockAt  map[int64]time.Time        // earliest moment a waiter saw each height commit
	blockTxs map[int64]int
}

func newTally() *tally {
	return &tally{lat: map[string][]time.Duration{}, blockAt: map[int64]time.Time{}, blockTxs: map[int64]int{}}
}

func (t *tally) reject(msg string) {
	t.rejected.Add(1)
	t.mu.Lock()
	if t.first == "" {
		t.first = msg
	}
	t.mu.Unlock()
}

// record adds one goroutine's latencies of a kind.
func (t *tally) record(lat map[string][]time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, l := range lat {
		t.lat[k] = append(t.lat[k], l...)
	}
}

// committedAt records that r committed now and returns the commit time of its block: the
// earliest any waiter observed, so a waiter scheduled late does not inflate the latency.
func (t *tally) committedAt(r app.Result, now time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.blockTxs[r.Height]++
	if at, ok := t.blockAt[r.Height]; ok && at.Before(now) {
		return at
	}
	t.blockAt[r.Height] = now
	return now
}

type measured struct {
	Result
	rssReset bool
}

// measure submits every transaction and read request of w at once and waits for all of
// them to commit (reads: to be decrypted) or fail.
func (r *runner) measure(parent context.Context, w *workload) (*measured, error) {
	queues := w.queues(r.o.Concurrency)
	total := int64(w.txs)
	t := newTally()
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	window := make(chan struct{}, r.o.Window)

	disk0 := dirSize(r.dir)
	debug.FreeOSMemory() // so the peak below does not count the preparation's garbage
	rssReset := resetPeakRSS()
	cpu0 := cpuTime()
	start := time.Now()

	var wg sync.WaitGroup
	for q, queue := range queues {
		waits := make(chan pending, len(queue))
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer close(waits)
			r.submit(ctx, t, window, waits, queue, q, len(queues), start)
		}()
		go func() {
			defer wg.Done()
			r.wait(ctx, t, window, waits)
		}()
	}
	concurrency := len(queues)
	if len(w.reads) > 0 {
		next := make(chan *records.ReadRequest, len(w.reads))
		for _, q := range w.reads {
			next <- q
		}
		close(next)
		inflight := min(r.o.Window, len(w.reads))
		concurrency += inflight
		for range inflight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.readLoop(ctx, t, w, next, start)
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastDone, lastCommitted, lastChange, lastTick := int64(0), int64(0), start, start
	var rss []RSSSample
	nextRSS := start.Add(RSSEvery)
loop:
	for {
		select {
		case <-done:
			break loop
		case err := <-r.n.Fatal():
			cancel(err)
			<-done
			return nil, err
		case <-parent.Done():
			cancel(parent.Err())
			<-done
			return nil, parent.Err()
		case now := <-tick.C:
			c, rej := t.committed.Load(), t.rejected.Load()
			rate := float64(c-lastCommitted) / now.Sub(lastTick).Seconds()
			cur := currentRSS()
			fmt.Fprintf(r.progress, "%s: %5.1fs  done %d/%d  rejected %d  %.0f ops/s  rss %d MiB\n",
				w.name, now.Sub(start).Seconds(), c, total, rej, rate, cur>>20)
			if !now.Before(nextRSS) {
				rss = append(rss, RSSSample{Seconds: now.Sub(start).Round(time.Second).Seconds(), Bytes: cur, LiveHeap: liveHeap()})
				nextRSS = nextRSS.Add(RSSEvery)
			}
			lastCommitted, lastTick = c, now
			if c+rej != lastDone {
				lastDone, lastChange = c+rej, now
			} else if now.Sub(lastChange) > r.o.Stall {
				t.mu.Lock()
				first := t.first
				t.mu.Unlock()
				err := fmt.Errorf("no operation committed or failed for %s (%d of %d done; first rejection: %q)", r.o.Stall, c+rej, total, first)
				cancel(err)
				<-done
				return nil, err
			}
		}
	}
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}

	res := t.result(w.name, w.txs, concurrency, wall, cpu)
	res.RSS = rss
	if w.events > 0 {
		res.EventsPerTx = w.events
		res.EventsPerSec = res.TxPerSec * float64(w.events)
		res.CPUPerEventUS = res.CPUPerTxUS / float64(w.events)
	}
	if n := w.txs - len(w.reads); n > 0 {
		res.MeanTxBytes = w.bytes / n
	} else if len(w.reads) > 0 {
		res.MeanTxBytes = len(w.reads[0].Encode())
	}
	if res.Committed > 0 && !w.noDisk {
		// What the memtable holds is on disk only in CometBFT's blocks until a flush.
		if err := r.n.FlushState(); err != nil {
			return nil, err
		}
		res.DiskBytesPerOp = float64(dirSize(r.dir)-disk0) / float64(res.Committed)
	}
	return &measured{Result: res, rssReset: rssReset}, nil
}

// result turns a finished tally into a workload's figures, with a part per kind of
// operation when the workload mixes kinds.
func (t *tally) result(name string, txs, concurrency int, wall, cpu time.Duration) Result {
	res := Result{Workload: name, Txs: txs, Committed: int(t.committed.Load()), Rejected: int(t.rejected.Load()),
		FirstRejection: t.first, Concurrency: concurrency, WallSeconds: wall.Seconds(),
		CPUSeconds: cpu.Seconds(), PeakRSSBytes: peakRSS(), Blocks: len(t.blockTxs)}
	if wall > 0 {
		res.TxPerSec = float64(res.Committed) / wall.Seconds()
	}
	if res.Committed > 0 {
		res.CPUPerTxUS = cpu.Seconds() * 1e6 / float64(res.Committed)
	}
	for _, n := range t.blockTxs {
		res.MaxBlockTxs = max(res.MaxBlockTxs, n)
	}
	var all []time.Duration
	kinds := slices.Sorted(maps.Keys(t.lat))
	for _, k := range kinds {
		all = append(all, t.lat[k]...)
	}
	res.latency(all)
	if len(kinds) > 1 {
		for _, k := range kinds {
			p := Part{Kind: k, Committed: len(t.lat[k])}
			if wall > 0 {
				p.PerSec = float64(p.Committed) / wall.Seconds()
			}
			p.P50MS, p.P95MS, p.P99MS, p.MaxMS = latencies(t.lat[k])
			res.Parts = append(res.Parts, p)
		}
	}
	return res
}

func (res *Result) latency(lat []time.Duration) {
	res.P50MS, res.P95MS, res.P99MS, res.MaxMS = latencies(lat)
}

// latencies sorts lat and returns its p50, p95, p99 and maximum in milliseconds.
func latencies(lat []time.Duration) (p50, p95, p99, maxMS float64) {
	slices.Sort(lat)
	if len(lat) == 0 {
		return 0, 0, 0, 0
	}
	return ms(percentile(lat, 50)), ms(percentile(lat, 95)), ms(percentile(lat, 99)), ms(lat[len(lat)-1])
}

// submit sends one queue's transactions in order. Each waits for a window slot; open loop,
// each also waits for its scheduled time, which then counts as its submission time.
func (r *runner) submit(ctx context.Context, t *tally, window chan struct{}, waits chan<- pending,
	queue []queued, q, queues int, start time.Time) {
	for k, it := range queue {
		if r.expired(start) {
			return
		}
		sent := time.Now()
		if r.o.Rate > 0 {
			due := start.Add(time.Duration(float64(k*queues+q) / r.o.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
			}
			sent = due
		}
		select {
		case window <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if r.o.Rate == 0 {
			sent = time.Now()
		}
		ch, stop := r.n.App.Watch(tx.Hash(it.raw))
		res, err := r.n.Broadcast(ctx, it.raw, false)
		switch {
		case ctx.Err() != nil:
			stop()
			return
		case err != nil:
			stop()
			<-window
			t.reject(err.Error())
		case res.Code != 0:
			stop()
			<-window
			t.reject(fmt.Sprintf("CheckTx %s/%d: %s", res.Codespace, res.Code, res.Log))
		default:
			waits <- pending{ch: ch, cancel: stop, sent: sent, kind: it.kind}
		}
	}
}

// expired says whether the workload's duration, if any, has run out.
func (r *runner) expired(start time.Time) bool {
	return r.o.Duration > 0 && time.Since(start) >= r.o.Duration
}

// wait collects the commits of one queue's accepted transactions. A queue's transactions
// commit in the order they were accepted, so waiting on them in turn loses no time.
func (r *runner) wait(ctx context.Context, t *tally, window chan struct{}, waits <-chan pending) {
	lat := map[string][]time.Duration{}
	defer t.record(lat)
	for p := range waits {
		var res app.Result
		select {
		case res = <-p.ch:
		case <-ctx.Done():
			p.cancel()
			return
		}
		at := t.committedAt(res, time.Now())
		p.cancel()
		<-window
		if res.Code != 0 {
			t.reject(fmt.Sprintf("block %s/%d: %s", res.Codespace, res.Code, res.Log))
			continue
		}
		lat[p.kind] = append(lat[p.kind], at.Sub(p.sent))
		t.committed.Add(1)
	}
}

// percentile is the nearest-rank percentile of sorted durations (0 when empty).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchParams are the benchmark chains' rules: the no-op baseline and patients'
// self-registration (the register workload) are enabled, and budgets
// are charged (so their cost is in every figure) but unlimited, so no workload is cut short.
func benchParams(o *Options) app.Params {
	return app.Params{AllowNoop: true, OpenRegistration: true, Budgets: &admission.Budgets{WindowSeconds: 3600, Off: o.NoBudgets}}
}
