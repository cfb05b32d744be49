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
	"github.com/ehrchain/ehrchain/internal/node"
)

// benchCmd measures a throwaway single-validator node; it never touches --home.
func benchCmd(_ *globals) *cobra.Command {
	var (
		o           bench.Options
		workloads   []string
		asJSON      bool
		cpuProfile  string
		memProfile  string
		growth      []int
		pruneBlocks int64
		probe       int
		repeat      int
		plotFile    string
	)
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure committed throughput and latency on a temporary local node",
		Long: `bench starts a fresh single-validator node in a temporary directory, submits
pre-signed transactions to it in-process and times each from submission to the commit of
its block. Workloads run one after another on the same node: compare their ratios, which
hold on a noisy machine better than the absolute figures do.

Workloads:
  baseline      signed no-op transactions from --actors registered signers (the ceiling)
  register      patients registering themselves
  write         providers writing encrypted ~1.5 KB FHIR Observations
  read          audited reads by a granted provider, timed from request to plaintext
  read-node     the same reads up to the node's release (no decryption: the requester's)
  grant-revoke  patients granting read access and revoking it (rotating the category key)
  mixed         80 % reads, 16 % writes, 4 % grants and revocations, all at once
  claims        two-line insurance claims adjudicated at commit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, w := range workloads { // the flag already split on commas
				if w = strings.TrimSpace(w); w != "" {
					o.Workloads = append(o.Workloads, w)
				}
			}
			// profiles names each workload's profiles; a network's get "@Nv" (cpu.write@4v.prof),
			// so that they do not overwrite the single node's of the same run.
			profiles := func(validators int) {
				suffix := ""
				if validators > 1 {
					suffix = fmt.Sprintf("@%dv", validators)
				}
				if cpuProfile != "" {
					o.CPUProfile = func(workload string) (io.WriteCloser, error) {
						return os.Create(profilePath(cpuProfile, workload+suffix))
					}
				}
				if memProfile != "" {
					o.MemProfile = func(workload string) (io.WriteCloser, error) {
						return os.Create(profilePath(memProfile, workload+suffix))
					}
				}
			}
			profiles(1)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if pruneBlocks > 0 {
				o.Pruning = &node.PruningConfig{KeepBlocks: pruneBlocks, KeepVersions: 100}
			}
			if len(growth) > 0 {
				return runGrowth(ctx, bench.GrowthOptions{Options: o, Sizes: growth, Probe: probe, Repeat: repeat}, plotFile, asJSON)
			}
			// With --validators N the same workloads run on one node first, then on N
			// validators, so the two figures come from the same run.
			sizes := []int{1}
			if o.Validators > 1 {
				sizes = append(sizes, o.Validators)
			}
			var reps []*bench.Report
			for _, v := range sizes {
				o.Validators = v
				profiles(v)
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
	f.StringSliceVar(&workloads, "workload", bench.Workloads, "workloads to run, in order")
	f.IntVar(&o.Txs, "txs", 0, "operations per workload (default 20,000)")
	f.IntVar(&o.Actors, "actors", 64, "signers of the baseline workload, each with its own sequence")
	f.IntVar(&o.Concurrency, "concurrency", 64, "goroutines submitting transactions")
	f.IntVar(&o.Window, "window", 0, fmt.Sprintf("most transactions submitted but not yet committed (closed loop; default %d, at most the mempool)", bench.DefaultWindow))
	f.Float64Var(&o.Rate, "rate", 0, "submit open-loop at this many tx/s instead of the closed loop")
	f.DurationVar(&o.Duration, "duration", 0, "stop submitting each workload after this long (e.g. 30s); with --rate and no --txs, prepares rate × duration")
	f.IntVar(&o.BlockMS, "block-ms", 200, "pause after each commit, in ms")
	f.Int64Var(&pruneBlocks, "prune-blocks", 0, "run the node with pruning: keep this many blocks (and prune below the newest snapshot), 100 state map versions")
	f.Int64Var(&o.SnapshotInterval, "snapshot-interval", 0, "blocks between snapshots (default the node's)")
	f.IntVar(&o.Mempool, "mempool", 0, "mempool capacity in transactions (default the node's)")
	f.IntVar(&o.Validators, "validators", 1, "also run the workloads on this many validators in-process (after one node, same run)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&o.NoBudgets, "no-budgets", false, "create the chain without admission budgets (to measure what they cost; benchmark chains charge them but never refuse)")
	f.BoolVar(&o.Fresh, "fresh", false, "run each workload on a node of its own, so that none pays for the compactions of what an earlier one wrote")
	f.IntSliceVar(&growth, "growth", nil, "instead of the workloads: fill the ledger with record writes to each of these sizes (e.g. 10000,100000,1000000) and measure writes and reads at each")
	f.IntVar(&probe, "probe", 10_000, "with --growth: writes and reads measured at each size")
	f.IntVar(&repeat, "repeat", 1, "with --growth: run each probe this many times at each size and report the run of median rate (one probe's rate spreads widely on a shared machine)")
	f.StringVar(&plotFile, "plot", "", "with --growth: also draw the results into this PNG file")
	f.StringVar(&memProfile, "memprofile", "", "write a heap profile at the end of each workload's timed phase (mem.prof becomes mem.write.prof, ...)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of each workload's timed phase: cpu.prof becomes cpu.baseline.prof, cpu.register.prof (with --growth: of each probe, cpu.write@10000.prof ..., and of the last fill batch before each size, cpu.fill@10000.prof ...)")
	return c
}

func runGrowth(ctx context.Context, o bench.GrowthOptions, plotFile string, asJSON bool) error {
	rep, err := bench.Growth(ctx, o, os.Stderr)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted: %w", err)
		}
		return err
	}
	if plotFile != "" {
		f, err := os.Create(plotFile)
		if err != nil {
			return err
		}
		if err := rep.WritePNG(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if asJSON {
		return printJSON(rep)
	}
	return rep.WriteTable(os.Stdout)
}

// profilePath inserts the workload's name before the extension of file.
func profilePath(file, workload string) string {
	ext := filepath.Ext(file)
	return strings.TrimSuffix(file, ext) + "." + workload + ext
}
