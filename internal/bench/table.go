package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints the report for people: a header naming the machine and the settings,
// then one row per workload.
func (r *Report) WriteTable(w io.Writer) error {
	m, o := r.Machine, r.Options
	model := m.CPUModel
	if model == "" {
		model = "unknown CPU"
	}
	loop := fmt.Sprintf("closed loop, window %d", o.Window)
	if o.Rate > 0 {
		loop = fmt.Sprintf("open loop at %.0f tx/s", o.Rate)
	}
	fmt.Fprintf(w, "%d CPUs (%s), %s, GOMAXPROCS %d\n", m.CPUs, model, m.GoVersion, m.GOMAXPROCS)
	vals := "1 validator"
	if o.Validators > 1 {
		vals = fmt.Sprintf("%d validators in-process, submitting to the first", o.Validators)
	}
	fmt.Fprintf(w, "%s, block delay %d ms, mempool %d, %d actors, concurrency %d, %s\n\n",
		vals, o.BlockMS, o.Mempool, o.Actors, o.Concurrency, loop)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\ttxs\tok\trejected\twall s\ttx/s\tratio\tp50 ms\tp95 ms\tp99 ms\tmax ms\tblocks\tmax/block\tpeak RSS MiB\tCPU s\tCPU µs/tx\tdisk B/op\t")
	for _, res := range r.Results {
		ratio := "-"
		if res.Ratio != nil {
			ratio = fmt.Sprintf("%.2f", *res.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%.0f\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%d\t%.0f\t%.1f\t%.0f\t%.0f\t\n",
			res.Workload, res.Txs, res.Committed, res.Rejected, res.WallSeconds, res.TxPerSec, ratio,
			res.P50MS, res.P95MS, res.P99MS, res.MaxMS, res.Blocks, res.MaxBlockTxs,
			float64(res.PeakRSSBytes)/(1<<20), res.CPUSeconds, res.CPUPerTxUS, res.DiskBytesPerOp)
		for _, p := range res.Parts {
			fmt.Fprintf(tw, "  %s\t\t%d\t\t\t%.0f\t\t%.0f\t%.0f\t%.0f\t%.0f\t\t\t\t\t\t\t\n",
				p.Kind, p.Committed, p.PerSec, p.P50MS, p.P95MS, p.P99MS, p.MaxMS)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		if res.SameSizeRatio != nil {
			fmt.Fprintf(w, "%s against %s (same bytes): %.2f of its rate, %.2f× its CPU per operation\n",
				res.Workload, sameSize[res.Workload], *res.SameSizeRatio, *res.SameSizeCPU)
		}
	}
	for _, res := range r.Results {
		if res.EventsPerTx > 0 {
			fmt.Fprintf(w, "%s: %.0f EPCIS events/s, %.0f µs CPU per event (%d events a document)\n",
				res.Workload, res.EventsPerSec, res.CPUPerEventUS, res.EventsPerTx)
		}
	}
	for _, res := range r.Results {
		if res.FirstRejection != "" {
			fmt.Fprintf(w, "%s: first rejection: %s\n", res.Workload, res.FirstRejection)
		}
	}
	if !r.PeakRSSPerWorkload {
		fmt.Fprintln(w, "peak RSS is the process's peak since it started (the kernel refused a reset)")
	}
	for _, res := range r.Results {
		if len(res.RSS) < 2 {
			continue
		}
		fmt.Fprintf(w, "%s: RSS MiB every %s:", res.Workload, RSSEvery)
		for _, s := range res.RSS {
			fmt.Fprintf(w, " %d", s.Bytes>>20)
		}
		fmt.Fprintf(w, "\n%s: live heap MiB every %s:", res.Workload, RSSEvery)
		for _, s := range res.RSS {
			fmt.Fprintf(w, " %d", s.LiveHeap>>20)
		}
		fmt.Fprintln(w)
	}
	return nil
}
