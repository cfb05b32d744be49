package testnet

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/admission"
	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/node"
)

// BenchmarkJoin measures, on one chain of two validators holding EHR_JOIN_RECORDS records
// (default 2,000; ~1 KiB each, 250 per patient) written in the history loadHistory models
// (three audited reads and a fifth of a grant and revoke per record, about 150
// transactions a block, quiet periods), how long a new node takes to reach the
// validators' height and what it stores, joining first by state sync (snapshot offers
// collected for 5 s, CometBFT's minimum) and then by block sync from genesis. It runs once
// whatever b.N is:
//
//	EHR_JOIN_RECORDS=100000 go test -run '^$' -bench BenchmarkJoin -benchtime 1x -timeout 90m ./internal/testnet/
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
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
	defer cancel()
	nw.ctx = ctx

	loadStart := time.Now()
	last, hist := loadHistory(b, ctx, nw, n)
	loaded := fmt.Sprintf("loaded %d records (%d reads in %d batches, %d grants, %d revokes: %d transactions) up to height %d in %s",
		hist.writes, hist.reads, hist.readBatches, hist.grants, hist.revokes, hist.txs(), last, time.Since(loadStart).Round(time.Second))
	b.Log(loaded)
	fmt.Fprintln(os.Stderr, loaded)
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
			c.StateSync.DiscoveryTime, c.LogLevel = "5s", "debug" // CometBFT's info lines: the phases below are read from them
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
		if stateSync {
			if log, err := os.ReadFile(nw.m.LogPath(nw.dir, i)); err == nil {
				b.Logf("state sync phases: %s", stateSyncPhases(string(log), start, start.Add(took)))
			}
		}
		nw.kill(i)
		return took, size
	}
	ssTime, ssBytes := join(true)
	bsTime, bsBytes := join(false)
	snapDir := filepath.Join(nw.m.HomeOf(nw.dir, 0), "app", "snapshots", strconv.FormatInt(snapshotAt(nw.m.HomeOf(nw.dir, 0)), 10))
	snap := dirSize(snapDir)
	if keep := os.Getenv("EHR_JOIN_KEEP_SNAPSHOT"); keep != "" {
		// For profiling a restore offline: the snapshot the joiner restored, copied out.
		if err := os.CopyFS(keep, os.DirFS(snapDir)); err != nil {
			b.Error(err)
		}
	}
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

// stateSyncPhases times the steps of a state-sync join from CometBFT's log lines in a node's
// log: from the process start to its first line, to the start of discovery, discovery and
// the light client's check until the app is offered a snapshot, the chunks' fetch and
// apply, the app's verification, and the block sync from the snapshot to the tip (end).
func stateSyncPhases(log string, start, end time.Time) string {
	marks := []struct{ name, msg string }{
		{"first line", ""}, {"discovering", "Discovering snapshots"}, {"offered", "Offering snapshot to ABCI app"},
		{"first chunk applied", "Applied snapshot chunk"}, {"restored", "Snapshot restored"},
	}
	at := make([]time.Time, len(marks))
	lastChunk := time.Time{}
	for _, line := range strings.Split(log, "\n") {
		t, ok := logTime(line)
		if !ok {
			continue
		}
		for k, m := range marks {
			if at[k].IsZero() && strings.Contains(line, m.msg) {
				at[k] = t
			}
		}
		if strings.Contains(line, "Applied snapshot chunk") {
			lastChunk = t
		}
	}
	var out []string
	prev := start
	for k := range marks {
		if at[k].IsZero() || prev.IsZero() {
			out = append(out, marks[k].name+" ?")
			prev = at[k]
			continue
		}
		out = append(out, fmt.Sprintf("%s +%s", marks[k].name, at[k].Sub(prev).Round(100*time.Millisecond)))
		prev = at[k]
	}
	if !prev.IsZero() {
		out = append(out, fmt.Sprintf("tip +%s", end.Sub(prev).Round(100*time.Millisecond)))
	}
	if !lastChunk.IsZero() && !at[3].IsZero() {
		out = append(out, fmt.Sprintf("(chunks applied over %s)", lastChunk.Sub(at[3]).Round(100*time.Millisecond)))
	}
	return strings.Join(out, ", ")
}

// logTime reads the timestamp of a CometBFT log line ("I[2026-12-03|09:05:00.123] ...").
func logTime(line string) (time.Time, bool) {
	i, j := strings.IndexByte(line, '['), strings.IndexByte(line, ']')
	if i != 1 || j < i {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02|15:04:05.000", line[i+1:j])
	return t, err == nil
}
