package testnet

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/admission"
	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/node"
)

// BenchmarkJoin measures, on one chain of two validators holding EHR_JOIN_RECORDS records
// (default 2,000; ~1 KiB each, a patient per 1,000 records, loaded in signed batches), how
// long a new node takes to reach the validators' height and what it stores, joining first
// by state sync (snapshot offers collected for 5 s, CometBFT's minimum) and then by block
// sync from genesis. It runs once whatever b.N is:
//
//	EHR_JOIN_RECORDS=100000 go test -run '^$' -bench BenchmarkJoin -benchtime 1x -timeout 60m ./internal/testnet/
func BenchmarkJoin(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("EHR_JOIN_RECORDS")); err == nil && v > 0 {
		n = v
	}
	// Budgets off: the load is one writer per 1,000 records, far over a patient's hourly
	// budget. Snapshots every 50 blocks, six kept, so one covers the load soon after it.
	params := app.Params{OpenRegistration: true, Budgets: &admission.Budgets{WindowSeconds: 3600, Off: true}}
	nw := newNetworkParams(b, 2, params, func(dir string, m *Manifest) {
		for i := range m.Nodes {
			p := node.Paths{Home: m.HomeOf(dir, i)}
			c, _ := node.LoadConfig(p.Home)
			c.SnapshotInterval, c.SnapshotKeep, c.LogLevel = 50, 6, "error"
			c.Save(p.Config())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	nw.ctx = ctx

	loadStart := time.Now()
	last := loadRecords(b, ctx, nw, n)
	b.Logf("loaded %d records up to height %d in %s", n, last, time.Since(loadStart).Round(time.Second))
	fmt.Fprintf(os.Stderr, "loaded %d records up to height %d in %s\n", n, last, time.Since(loadStart).Round(time.Second))
	waitFor(b, 10*time.Minute, "a snapshot covering the records", func() bool {
		return snapshotAt(nw.m.HomeOf(nw.dir, 0)) >= last && snapshotAt(nw.m.HomeOf(nw.dir, 1)) >= last
	})

	fmt.Fprintf(os.Stderr, "snapshots cover height %d after %s\n", last, time.Since(loadStart).Round(time.Second))
	join := func(stateSync bool) (time.Duration, int64) {
		nd, err := AddNode(nw.dir, "Joiner", freePorts(b))
		if err != nil {
			b.Fatal(err)
		}
		i, _ := strconv.Atoi(nd.Name[len("node"):])
		if stateSync {
			if _, err := EnableStateSync(ctx, nw.dir, i); err != nil {
				b.Fatal(err)
			}
			nw.reload()
			p := node.Paths{Home: nw.m.HomeOf(nw.dir, i)}
			c, _ := node.LoadConfig(p.Home)
			c.StateSync.DiscoveryTime = "5s"
			c.Save(p.Config())
		}
		nw.reload()
		start := time.Now()
		if _, err := StartAttached(nw.dir, binary, []int{i}); err != nil {
			b.Fatal(err)
		}
		tip, _ := nw.height(0)
		nw.waitHeight(i, tip, 20*time.Minute)
		took := time.Since(start)
		size := dirSize(nw.m.HomeOf(nw.dir, i))
		nw.kill(i)
		return took, size
	}
	ssTime, ssBytes := join(true)
	bsTime, bsBytes := join(false)
	snap := dirSize(filepath.Join(nw.m.HomeOf(nw.dir, 0), "app", "snapshots", strconv.FormatInt(snapshotAt(nw.m.HomeOf(nw.dir, 0)), 10)))
	b.Logf("records %d, chain height %d, snapshot %d bytes", n, last, snap)
	b.Logf("state sync: %s to the tip, home %d bytes", ssTime.Round(100*time.Millisecond), ssBytes)
	b.Logf("block sync: %s to the tip, home %d bytes", bsTime.Round(100*time.Millisecond), bsBytes)
	b.ReportMetric(ssTime.Seconds(), "statesync-s")
	b.ReportMetric(bsTime.Seconds(), "blocksync-s")
	b.ReportMetric(float64(ssBytes), "statesync-home-bytes")
	b.ReportMetric(float64(bsBytes), "blocksync-home-bytes")
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
