package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/bench"
)

// benchCmd measures a throwaway single-validator node; it never touches --home.
func benchCmd(_ *globals) *cobra.Command {
	var (
		o          bench.Options
		workloads  []string
		asJSON     bool
		cpuProfile string
	)
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure committed throughput and latency on a temporary local node",
		Long: `bench starts a fresh single-validator node in a temporary directory, submits
pre-signed transactions to it in-process and times each from submission to the commit of
its block. Workloads run one after another on the same node: compare their ratios, which
hold on a noisy machine better than the absolute figures do.

Workloads: baseline (signed no-op transactions from --actors registered signers) and
register (patients registering themselves).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, w := range workloads { // the flag already split on commas
				if w = strings.TrimSpace(w); w != "" {
					o.Workloads = append(o.Workloads, w)
				}
			}
			if cpuProfile != "" {
				o.CPUProfile = func(workload string) (io.WriteCloser, error) {
					return os.Create(profilePath(cpuProfile, workload))
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			// With --validators N the same workloads run on one node first, then on N
			// validators, so the two figures come from the same run.
			sizes := []int{1}
			if o.Validators > 1 {
				sizes = append(sizes, o.Validators)
			}
			var reps []*bench.Report
			for _, v := range sizes {
				o.Validators = v
				rep, err := bench.Run(ctx, o, os.Stderr)
				if err != nil {
					if errors.Is(err, context.Canceled) {
						return fmt.Errorf("interrupted: %w", err)
					}
					return err
				}
				reps = append(reps, rep)
			}
			if asJSON {
				if len(reps) == 1 {
					return printJSON(reps[0])
				}
				return printJSON(reps)
			}
			for i, rep := range reps {
				if i > 0 {
					fmt.Println()
				}
				if err := rep.WriteTable(os.Stdout); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringSliceVar(&workloads, "workload", bench.Workloads, "workloads to run, in order (baseline, register)")
	f.IntVar(&o.Txs, "txs", 20_000, "transactions per workload")
	f.IntVar(&o.Actors, "actors", 64, "signers of the baseline workload, each with its own sequence")
	f.IntVar(&o.Concurrency, "concurrency", 64, "goroutines submitting transactions")
	f.IntVar(&o.Window, "window", 0, fmt.Sprintf("most transactions submitted but not yet committed (closed loop; default %d, at most the mempool)", bench.DefaultWindow))
	f.Float64Var(&o.Rate, "rate", 0, "submit open-loop at this many tx/s instead of the closed loop")
	f.IntVar(&o.BlockMS, "block-ms", 200, "pause after each commit, in ms")
	f.IntVar(&o.Mempool, "mempool", 0, "mempool capacity in transactions (default the node's)")
	f.IntVar(&o.Validators, "validators", 1, "also run the workloads on this many validators in-process (after one node, same run)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of each workload's timed phase: cpu.prof becomes cpu.baseline.prof, cpu.register.prof")
	return c
}

// profilePath inserts the workload's name before the extension of file.
func profilePath(file, workload string) string {
	ext := filepath.Ext(file)
	return strings.TrimSuffix(file, ext) + "." + workload + ext
}
