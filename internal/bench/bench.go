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
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
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
	Rate    float64 `json:"rate,omitempty"`
	BlockMS int     `json:"block_ms"` // pause after each commit; default 200
	Mempool int     `json:"mempool"`  // mempool capacity in transactions; default the node's
	// Validators > 1 runs a network of that many validators in-process (see start).
	Validators int `json:"validators,omitempty"`
	// Stall aborts a workload when nothing commits or fails for this long; default 60 s.
	Stall time.Duration `json:"-"`
	// CPUProfile, if set, opens the destination of each workload's CPU profile, which
	// covers the timed phase only (not key generation and signing).
	CPUProfile func(workload string) (io.WriteCloser, error) `json:"-"`
}

// DefaultWindow is the closed-loop window when Options.Window is zero.
const DefaultWindow = 10_000

func (o *Options) setDefaults() {
	if len(o.Workloads) == 0 {
		o.Workloads = slices.Clone(Workloads)
	}
	if o.Txs <= 0 {
		o.Txs = 20_000
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
	P50MS          float64  `json:"p50_ms"`
	P95MS          float64  `json:"p95_ms"`
	P99MS          float64  `json:"p99_ms"`
	MaxMS          float64  `json:"max_ms"`
	Blocks         int      `json:"blocks"`
	MaxBlockTxs    int      `json:"max_block_txs"`
	PeakRSSBytes   int64    `json:"peak_rss_bytes"`
	CPUSeconds     float64  `json:"cpu_s"` // user+system of the whole process during the workload
	// CPUPerTx is CPUSeconds per committed transaction in µs: on a shared machine it moves
	// less than the wall-clock figures do.
	CPUPerTxUS float64 `json:"cpu_us_per_tx"`
}

// Run starts a fresh node in a temporary directory, runs the workloads against it one after
// another, and removes the node again. progress receives a line a second (nil: none).
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
	dir, err := os.MkdirTemp("", "ehrchain-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	n, reg, stop, err := start(dir, &o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := stop(); serr != nil && err == nil {
			err = fmt.Errorf("stop node: %w", serr)
		}
	}()
	if o.Window <= 0 {
		o.Window = DefaultWindow
		if o.Rate > 0 {
			o.Window = o.Mempool
		}
	}
	o.Window = min(o.Window, o.Mempool)

	rep = &Report{Machine: thisMachine(), Options: o, PeakRSSPerWorkload: true}
	r := &runner{n: n, o: o, progress: progress, reg: reg}
	for _, name := range o.Workloads {
		fmt.Fprintf(progress, "%s: preparing %d transactions\n", name, o.Txs)
		w, err := r.prepare(name)
		if err != nil {
			return nil, err
		}
		if err := r.setup(ctx, w); err != nil {
			return nil, err
		}
		if w.name == Read {
			if err := r.setupReads(ctx, w); err != nil {
				return nil, err
			}
		}
		res, err := r.profiled(ctx, w)
		if err != nil {
			return nil, fmt.Errorf("workload %s: %w", name, err)
		}
		if !res.rssReset {
			rep.PeakRSSPerWorkload = false
		}
		rep.Results = append(rep.Results, res.Result)
	}
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
	return rep, nil
}

// startNode initialises a chain in dir with the requested block delay and mempool and
// starts it quietly on loopback.
func startNode(dir string, o *Options) (*node.Node, *keys.Keystore, error) {
	pass := make([]byte, 24)
	rand.Read(pass)
	if _, err := node.Init(node.InitOptions{Home: dir, ChainID: "bench-1", Passphrase: pass, KDF: keys.TestKDF}); err != nil {
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
}

// setup commits the workload's setup transactions (untimed): phase after phase, the
// streams of a phase in parallel, each stream in order.
func (r *runner) setup(ctx context.Context, w *workload) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for p, phase := range w.setup {
		fmt.Fprintf(r.progress, "%s: setup phase %d of %d (%d streams)\n", w.name, p+1, len(w.setup), len(phase))
		err := parallel(len(phase), func(i int) error {
			for _, raw := range phase[i] {
				res, err := r.n.Broadcast(ctx, raw, true)
				if err != nil {
					return fmt.Errorf("setup transaction: %w", err)
				}
				if res.Code != 0 {
					return fmt.Errorf("setup transaction rejected: %s/%d %s", res.Codespace, res.Code, res.Log)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// profiled runs measure under a CPU profile if one was asked for.
func (r *runner) profiled(ctx context.Context, w *workload) (*measured, error) {
	measure := r.measure
	if w.reads != nil {
		measure = r.measureReads
	}
	if r.o.CPUProfile == nil {
		return measure(ctx, w)
	}
	f, err := r.o.CPUProfile(w.name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	res, err := measure(ctx, w)
	pprof.StopCPUProfile()
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("write CPU profile: %w", cerr)
	}
	return res, err
}

// pending is a transaction CheckTx accepted, waiting for its block.
type pending struct {
	ch     <-chan app.Result
	cancel func()
	sent   time.Time
}

// tally is what the submitters and waiters of one workload share.
type tally struct {
	committed, rejected atomic.Int64

	mu       sync.Mutex
	first    string
	lat      []time.Duration
	blockAt  map[int64]time.Time // earliest moment a waiter saw each height commit
	blockTxs map[int64]int
}

func (t *tally) reject(msg string) {
	t.rejected.Add(1)
	t.mu.Lock()
	if t.first == "" {
		t.first = msg
	}
	t.mu.Unlock()
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

// measure submits every transaction of w and waits for all of them to commit or fail.
func (r *runner) measure(parent context.Context, w *workload) (*measured, error) {
	queues := w.queues(r.o.Concurrency)
	total := int64(w.txs)
	t := &tally{blockAt: map[int64]time.Time{}, blockTxs: map[int64]int{}, lat: make([]time.Duration, 0, w.txs)}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	window := make(chan struct{}, r.o.Window)

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
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastDone, lastCommitted, lastChange, lastTick := int64(0), int64(0), start, start
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
			fmt.Fprintf(r.progress, "%s: %5.1fs  committed %d/%d  rejected %d  %.0f tx/s\n",
				w.name, now.Sub(start).Seconds(), c, total, rej, rate)
			lastCommitted, lastTick = c, now
			if c+rej != lastDone {
				lastDone, lastChange = c+rej, now
			} else if now.Sub(lastChange) > r.o.Stall {
				t.mu.Lock()
				first := t.first
				t.mu.Unlock()
				err := fmt.Errorf("no transaction committed or failed for %s (%d of %d done; first rejection: %q)", r.o.Stall, c+rej, total, first)
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

	res := t.result(w.name, w.txs, len(queues), wall, cpu)
	if w.txs > 0 {
		res.MeanTxBytes = w.bytes / w.txs
	}
	return &measured{Result: res, rssReset: rssReset}, nil
}

// result turns a finished tally into a workload's figures.
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
	slices.Sort(t.lat)
	res.P50MS, res.P95MS, res.P99MS = ms(percentile(t.lat, 50)), ms(percentile(t.lat, 95)), ms(percentile(t.lat, 99))
	if len(t.lat) > 0 {
		res.MaxMS = ms(t.lat[len(t.lat)-1])
	}
	return res
}

// submit sends one queue's transactions in order. Each waits for a window slot; open loop,
// each also waits for its scheduled time, which then counts as its submission time.
func (r *runner) submit(ctx context.Context, t *tally, window chan struct{}, waits chan<- pending,
	queue [][]byte, q, queues int, start time.Time) {
	for k, raw := range queue {
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
		ch, stop := r.n.App.Watch(tx.Hash(raw))
		res, err := r.n.Broadcast(ctx, raw, false)
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
			waits <- pending{ch: ch, cancel: stop, sent: sent}
		}
	}
}

// wait collects the commits of one queue's accepted transactions. A queue's transactions
// commit in the order they were accepted, so waiting on them in turn loses no time.
func (r *runner) wait(ctx context.Context, t *tally, window chan struct{}, waits <-chan pending) {
	var lat []time.Duration
	defer func() {
		t.mu.Lock()
		t.lat = append(t.lat, lat...)
		t.mu.Unlock()
	}()
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
		lat = append(lat, at.Sub(p.sent))
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
