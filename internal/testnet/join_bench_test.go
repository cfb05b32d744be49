package testnet

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
)

// BenchmarkJoin measures, on one chain of two validators holding EHR_JOIN_RECORDS records
// (default 2,000, ~1 KiB each, written by 32 clients, a patient per 150 records), how long a new node takes to reach
// the validators' height and what it stores, joining first by state sync and then by
// block sync from genesis. It runs once whatever b.N is:
//
//	EHR_JOIN_RECORDS=2000 go test -run '^$' -bench BenchmarkJoin -benchtime 1x ./internal/testnet/
func BenchmarkJoin(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("EHR_JOIN_RECORDS")); err == nil && v > 0 {
		n = v
	}
	nw := newNetworkWith(b, 2, func(dir string, m *Manifest) {
		for i := range m.Nodes {
			p := node.Paths{Home: m.HomeOf(dir, i)}
			c, _ := node.LoadConfig(p.Home)
			c.SnapshotInterval, c.SnapshotKeep, c.LogLevel = 20, 50, "error"
			c.Save(p.Config())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	nw.ctx = ctx

	const workers = 32
	var wg sync.WaitGroup
	var last int64
	var mu sync.Mutex
	loadStart := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := nw.client(w % 2)
			var ks *keys.Keystore
			written := 0
			// A patient may send 200 transactions an hour (the genesis budgets): a fresh one
			// takes over every 150 records.
			newPatient := func() bool {
				var err error
				if ks, err = keys.NewKeystore("p"); err != nil {
					b.Error(err)
					return false
				}
				if _, err := c.Send(ctx, ks, client.RegistrationFor(nw.m.ChainID, ks, identity.Patient, "patient", "", "")); err != nil {
					b.Error(err)
					return false
				}
				if _, err := c.PublishCategories(ctx, ks, []string{"general"}); err != nil {
					b.Error(err)
					return false
				}
				written = 0
				return true
			}
			body := make([]byte, 1024)
			for i := w; i < n; i += workers {
				if ks == nil || written == 150 {
					if !newPatient() {
						return
					}
				}
				written++
				copy(body, fmt.Sprintf("observation %d", i))
				m, err := c.PutRecord(ctx, ks, client.NewRecord{Patient: ks.ID, Category: "general",
					ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: body})
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				last = max(last, m.Height)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	b.Logf("loaded %d records up to height %d in %s", n, last, time.Since(loadStart).Round(time.Second))
	waitFor(b, 5*time.Minute, "a snapshot covering the records", func() bool {
		return snapshotAt(nw.m.HomeOf(nw.dir, 0)) >= last && snapshotAt(nw.m.HomeOf(nw.dir, 1)) >= last
	})

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
